"""botocore's exceptions into ours (``dreambolt_magic.client.translation``): by S3 error code, else by HTTP
status, else by exception type; never by message text. No I/O: the exceptions are made here."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import botocore.exceptions as bce
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreambolt_magic import errors
from dreambolt_magic.client.retry import is_retryable
from dreambolt_magic.client.translation import classify, translate
from dreambolt_magic.errors import S3Error

ENDPOINT = "http://127.0.0.1:1"


def client_error(code: str | None, status: int | None, message: str = "server words", **headers: str
                 ) -> bce.ClientError:
    error = {"Message": message} if code is None else {"Code": code, "Message": message}
    meta: dict[str, Any] = {"HTTPHeaders": headers, "RequestId": "RID"}
    if status is not None:
        meta["HTTPStatusCode"] = status
    return bce.ClientError({"Error": error, "ResponseMetadata": meta}, "GetObject")


# --- client errors: the code decides, else the status ----------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls", "code"),
    [
        (client_error("NoSuchKey", 404), errors.S3NotFound, "NoSuchKey"),
        (client_error("AccessDenied", 403), errors.S3AuthError, "AccessDenied"),
        (client_error("ExpiredToken", 400), errors.S3AuthError, "ExpiredToken"),
        (client_error("SlowDown", 503), errors.S3RateLimit, "SlowDown"),
        (client_error("404", 404), errors.S3NotFound, None),
        (client_error("InternalError", 500), errors.S3GenericError, "InternalError"),
        (bce.NoCredentialsError(), errors.S3AuthError, "NoCredentials"),
        (bce.EndpointConnectionError(endpoint_url=ENDPOINT), errors.S3NetworkError, "EndpointConnectionError"),
        (bce.ConnectTimeoutError(endpoint_url=ENDPOINT), errors.S3NetworkError, "ConnectTimeout"),
        (bce.ReadTimeoutError(endpoint_url=ENDPOINT), errors.S3NetworkError, "ReadTimeout"),
        (bce.ResponseStreamingError(error="cut"), errors.S3NetworkError, "IncompleteBody"),
        (bce.SSOTokenLoadError(error_msg="x"), errors.S3AuthError, "SSOTokenExpired"),
    ],
)
def test_translate_chooses_by_code_and_type(exc: Exception, cls: type[S3Error], code: str | None) -> None:
    err = translate(exc, bucket="b")
    assert type(err) is cls
    assert err.code == code


def test_translate_keeps_the_server_words_as_detail_and_the_region_hint() -> None:
    err = translate(client_error("PermanentRedirect", 301, "go elsewhere", **{"x-amz-bucket-region": "eu-west-1"}),
                    bucket="b", region="us-east-1")
    assert isinstance(err, errors.S3RegionError)
    assert err.detail == "go elsewhere" and err.request_id == "RID"
    assert err.hints["bucket_region"] == "eu-west-1"
    assert "--region eu-west-1" in err.remedy


def test_the_region_named_in_the_error_body_is_a_hint_too() -> None:
    exc = bce.ClientError({"Error": {"Code": "AuthorizationHeaderMalformed", "Region": "ap-south-1"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetObject")
    err = translate(exc, bucket="b", region="us-east-1")
    assert isinstance(err, errors.S3RegionError)
    assert err.hints["bucket_region"] == "ap-south-1"
    assert "bucket_region" not in translate(client_error("NoSuchKey", 404)).hints


@pytest.mark.parametrize(("status", "cls"), [
    (301, errors.S3RegionError), (307, errors.S3RegionError), (400, errors.S3GenericError),
    (401, errors.S3AuthError), (403, errors.S3AuthError), (404, errors.S3NotFound), (412, errors.S3GenericError),
    (429, errors.S3RateLimit), (500, errors.S3GenericError), (503, errors.S3RateLimit),
])
def test_a_head_answer_has_no_code_and_its_status_decides(status: int, cls: type[S3Error]) -> None:
    # botocore puts the status where the code goes when the answer has no body (HEAD).
    for exc in (client_error(str(status), status), client_error(None, status), client_error("Unheard", status)):
        err = translate(exc, bucket="b")
        assert type(err) is cls
        assert err.status == status
    assert translate(client_error(str(status), status)).code is None
    assert translate(client_error("Unheard", status)).code == "Unheard"


def test_a_known_code_wins_over_its_status() -> None:
    assert type(translate(client_error("NoSuchKey", 403))) is errors.S3NotFound
    assert type(translate(client_error("AccessDenied", 404))) is errors.S3AuthError
    assert type(translate(client_error("SlowDown", 400))) is errors.S3RateLimit


def test_an_answer_with_neither_code_nor_status_is_a_generic_error() -> None:
    err = translate(bce.ClientError({}, "GetObject"), bucket="b")
    assert type(err) is errors.S3GenericError
    assert err.code is None and err.status is None


_CASES = [("NoSuchKey", 404), ("AccessDenied", 403), ("SlowDown", 503), ("Unheard", 400), ("Unheard", 500),
          ("404", 404), ("PermanentRedirect", 301), ("InternalError", 500), (None, 403)]
_MISLEADING = ["", "Access Denied", "NoSuchKey", "The specified key does not exist.", "Please reduce your request "
               "rate.", "SlowDown", "wrong region: eu-west-1", "PermanentRedirect", "timed out", "ExpiredToken"]


@given(case=st.sampled_from(_CASES), message=st.one_of(st.sampled_from(_MISLEADING), st.text(max_size=40)))
def test_the_message_text_never_decides(case: tuple[str | None, int], message: str) -> None:
    code, status = case
    plain = translate(client_error(code, status, "plain"), bucket="b")
    worded = translate(client_error(code, status, message), bucket="b")
    assert type(worded) is type(plain)
    assert (worded.code, worded.status) == (plain.code, plain.status)
    assert worded.detail == message  # kept as the server's words, for the details only


# --- below HTTP, and credentials ------------------------------------------------------------------------

NETWORK = [
    (bce.ConnectTimeoutError(endpoint_url=ENDPOINT), "ConnectTimeout"),
    (bce.ReadTimeoutError(endpoint_url=ENDPOINT), "ReadTimeout"),
    (bce.ConnectionClosedError(endpoint_url=ENDPOINT), "ConnectionClosed"),
    (bce.EndpointConnectionError(endpoint_url=ENDPOINT), "EndpointConnectionError"),
    (bce.ResponseStreamingError(error="cut"), "IncompleteBody"),
    (bce.IncompleteReadError(actual_bytes=1, expected_bytes=2), "IncompleteBody"),
    (bce.FlexibleChecksumError(error_msg="crc32 mismatch"), "ChecksumMismatch"),
    (bce.HTTPClientError(error="reset"), "ConnectionClosed"),
]


@pytest.mark.parametrize(("exc", "code"), NETWORK, ids=[type(e).__name__ for e, _ in NETWORK])
def test_network_failures_are_network_errors_that_are_retried(exc: Exception, code: str) -> None:
    err = translate(exc, bucket="b", region="eu-west-1", operation="GetObject")
    assert type(err) is errors.S3NetworkError
    assert err.code == code and err.status is None
    assert err.detail == type(exc).__name__
    assert (err.bucket, err.region, err.operation) == ("b", "eu-west-1", "GetObject")
    # What translation names a failure below HTTP, the retry policy must know as worth another try.
    assert is_retryable(*classify(err))  # type: ignore[misc]


CREDENTIALS = [
    (bce.ProfileNotFound(profile="dev"), "ProfileNotFound"),
    (bce.NoCredentialsError(), "NoCredentials"),
    (bce.SSOTokenLoadError(error_msg="expired"), "SSOTokenExpired"),
    (bce.UnauthorizedSSOTokenError(), "SSOTokenExpired"),
    (bce.TokenRetrievalError(provider="sso", error_msg="x"), "SSOTokenExpired"),
    (bce.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "CredentialsError"),
    (bce.CredentialRetrievalError(provider="process", error_msg="x"), "CredentialsError"),
    (bce.NoAuthTokenError(), "CredentialsError"),
]


@pytest.mark.parametrize(("exc", "code"), CREDENTIALS, ids=[type(e).__name__ for e, _ in CREDENTIALS])
def test_credential_failures_are_auth_errors_that_are_not_retried(exc: Exception, code: str) -> None:
    err = translate(exc, bucket="b", profile="dev")
    assert type(err) is errors.S3AuthError
    assert err.code == code
    assert err.hints["profile"] == "dev"
    assert code in errors.CODE_CLASSES  # each has its own explanation
    assert not is_retryable(*classify(err))  # type: ignore[misc]


def test_a_parameter_the_client_refuses_is_a_uri_error() -> None:
    err = translate(bce.ParamValidationError(report="Invalid bucket name \"a b\""), bucket="a b")
    assert type(err) is errors.S3UriError
    assert err.code == "InvalidUri"
    assert "Invalid bucket name" in str(err)


@pytest.mark.parametrize("exc", [bce.DataNotFoundError(data_path="x"), ValueError("odd"), RuntimeError()])
def test_anything_else_is_a_generic_error_named_by_its_type(exc: BaseException) -> None:
    err = translate(exc, bucket="b")
    assert type(err) is errors.S3GenericError
    assert err.code is None and err.detail == type(exc).__name__


# --- the connection's context ---------------------------------------------------------------------------


def test_the_connection_gives_profile_endpoint_and_whether_it_signed() -> None:
    conn = SimpleNamespace(profile="dev", endpoint_url=ENDPOINT, signed=False, requester_pays=False)
    err = translate(client_error("AccessDenied", 403), bucket="b", profile="ignored", conn=conn)  # type: ignore[arg-type]
    assert err.endpoint == ENDPOINT
    assert err.hints == {"profile": "dev", "unsigned": True}
    signed = translate(client_error("AccessDenied", 403), conn=SimpleNamespace(  # type: ignore[arg-type]
        profile=None, endpoint_url=None, signed=True, requester_pays=True))
    assert "unsigned" not in signed.hints and signed.endpoint is None
    assert signed.hints["requester_pays"] is True  # its AccessDenied has another cause than Requester Pays
    network = translate(bce.EndpointConnectionError(endpoint_url=ENDPOINT), conn=conn)  # type: ignore[arg-type]
    assert network.endpoint == ENDPOINT and f"at {ENDPOINT}" in network.explanation


# --- classify --------------------------------------------------------------------------------------------


def test_classify_reads_code_and_status_of_ours_only() -> None:
    assert classify(errors.S3RateLimit(code="SlowDown", status=503)) == ("SlowDown", 503)
    assert classify(errors.S3NotFound(status=404)) == (None, 404)
    assert classify(translate(client_error("404", 404))) == (None, 404)
    # A botocore exception has not been translated: not ours to retry.
    assert classify(client_error("SlowDown", 503)) is None
    assert classify(ValueError("x")) is None
