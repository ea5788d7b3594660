"""Keep credentials out of botocore's and urllib3's debug logs.

At DEBUG level botocore logs each signed request (its Authorization header names the access key id,
a session token travels in X-Amz-Security-Token, an SSE-C key and its MD5 in the
x-amz-server-side-encryption-customer-key headers), the canonical request and the signature. S3's error
answers echo some back, and botocore logs their bodies: ``ExpiredToken`` and ``InvalidToken`` the session
token (``<Token-0>``), ``SignatureDoesNotMatch`` and ``InvalidAccessKeyId`` the access key id, the string to
sign and the canonical request (and their bytes in hex). With ``awscrt`` installed, the Common Runtime signs
instead, and logs the same material under ``awscrt.auth`` once its log is routed into Python's logging. An
endpoint URL may hold a ``user:password@`` part.
A user who turns logging up to debug a load should see everything but those. :func:`install` adds a filter
to the loggers that print them; it rewrites a record's text and never drops a record.
:func:`scrub_client_error` blanks the same elements in a botocore ``ClientError`` that is kept as the cause
of one of ours.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["ECHOED", "LOGGERS", "RedactSecrets", "install", "redact", "scrub_client_error"]

#: The loggers that print requests, headers or signing material.
LOGGERS = (
    "botocore.auth",
    "botocore.endpoint",
    "botocore.httpsession",
    "botocore.hooks",
    "botocore.parsers",
    "botocore.credentials",
    "botocore.utils",
    "botocore.client",
    "botocore.retryhandler",
    "botocore.regions",
    "botocore.configprovider",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    # With awscrt installed botocore signs through the AWS Common Runtime, whose signer logs the canonical
    # request (the session token's header), the string to sign and the Authorization value (the access key id
    # and the signature) at its trace level. Those reach Python's logging only if the user routes them there
    # (awscrt.logging.init_logging), one logger per CRT subject: aws-c-auth's four.
    "awscrt.auth.AuthGeneral",
    "awscrt.auth.AuthProfile",
    "awscrt.auth.AuthCredentialsProvider",
    "awscrt.auth.AuthSigning",
)

#: Elements of S3's error answers that echo a credential or what was signed with one (the canonical
#: request holds the session token's header; the ``...Bytes`` forms are the same text in hex).
ECHOED = r"Token-\d+|AWSAccessKeyId|StringToSign(?:Bytes)?|CanonicalRequest(?:Bytes)?|SignatureProvided"

_REDACTED = "<redacted>"
_PATTERNS = (
    # "Credential=AKIA.../20260101/eu-west-1/s3/aws4_request" in an Authorization header.
    re.compile(r"(Credential=)[^,\s'\"]+"),
    re.compile(r"(Signature=)[^,\s'\"&]+"),
    # Header values, in a dict repr ('Authorization': b'...') or a canonical request (x-amz-security-token:...).
    re.compile(r"(?i)((?:authorization|x-amz-security-token)['\"]?\s*[:=]\s*b?['\"]?)[^'\"\n]+"),
    re.compile(r"(?i)((?:X-Amz-Credential|X-Amz-Signature|X-Amz-Security-Token)=)[^&\s'\"]+"),
    # The signature on a line of its own ("Signature:\n<64 hex digits>").
    re.compile(r"(Signature:\s*)[0-9a-f]{64}"),
    # An SSE-C key and its MD5, as headers (a dict's repr, a canonical request) or as parameters: a quoted
    # value whole (a key's bytes may hold a quote, escaped), else up to the next blank, quote, comma or brace.
    re.compile(r"(?i)((?:x-amz-server-side-encryption-customer-key(?:-md5)?|sse_?customer_?key(?:_?md5)?)['\"]?"
               r"\s*[:=]\s*)(?:b?(['\"])(?:\\.|(?!\2).)*\2|[^\s'\",}]+)"),
    # An error answer's echoes, in its XML body (up to the closing tag, else to the end of the text: a body cut
    # short is still redacted) and in the dict botocore parses it into.
    re.compile(rf"(?s)(<(?P<tag>{ECHOED})>).*?(?=</(?P=tag)>|\Z)"),
    re.compile(rf"((['\"])(?:{ECHOED})\2\s*:\s*)(['\"])(?:\\.|(?!\3).)*\3"),
    # The user info of a URL ("http://user:password@host"): the password, and the user name with it.
    re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@'\"<>]+(?=@)"),
)


def redact(text: str) -> str:
    """``text`` with credentials, tokens and signatures replaced by ``<redacted>``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _REDACTED, text)
    return text


_ECHOED_NAME = re.compile(rf"(?:{ECHOED})\Z")


def scrub_client_error(exc: Any) -> None:
    """Blank, in place, what a botocore ``ClientError`` holds of a credential: the echoed elements of its
    parsed answer (``exc.response["Error"]``), and anything :func:`redact` finds in its other texts and its
    message. In place, so that the dict botocore's frames still refer to is clean too."""
    error = exc.response.get("Error")
    if isinstance(error, dict):
        for name, value in list(error.items()):
            if _ECHOED_NAME.match(name):
                error[name] = _REDACTED
            elif isinstance(value, str):
                error[name] = redact(value)
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)


class RedactSecrets(logging.Filter):
    """A filter that rewrites a record's message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to the handler to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Add the filter to every logger in :data:`LOGGERS` (once; calling again changes nothing).

    Every load calls this; a check of the last logger spares the others' lookups (a set of 300 objects made
    some 5,000 calls of ``logging.getLogger``)."""
    if _FILTER in logging.getLogger(LOGGERS[-1]).filters:
        return
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
