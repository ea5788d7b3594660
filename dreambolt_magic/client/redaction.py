"""Keep credentials out of botocore's and urllib3's debug logs.

At DEBUG level botocore logs each signed request (its Authorization header names the access key id,
a session token travels in X-Amz-Security-Token, an SSE-C key and its MD5 in the
x-amz-server-side-encryption-customer-key headers), the canonical request and the signature. A user
who turns logging up to debug a load should see everything but those. :func:`install` adds a filter to
the loggers that print them; it rewrites a record's text and never drops a record.
"""

from __future__ import annotations

import logging
import re

__all__ = ["LOGGERS", "RedactSecrets", "install", "redact"]

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
    "urllib3.connectionpool",
)

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
)


def redact(text: str) -> str:
    """``text`` with credentials, tokens and signatures replaced by ``<redacted>``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _REDACTED, text)
    return text


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
    """Add the filter to every logger in :data:`LOGGERS` (once; calling again changes nothing)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
