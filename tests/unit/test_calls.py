"""The call funnel's policy (``dreambolt_magic.client.calls``) with fake connections and clients, no S3: one
region redirect followed once, translation inside the funnel, and retries under the policy between them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import botocore.exceptions as bce
import pytest

from dreambolt_magic import errors
from dreambolt_magic.client.calls import bucket_region, call, in_region, s3_errors
from dreambolt_magic.client.regions import region_cache
from dreambolt_magic.client.retry import RetryPolicy

ENDPOINT = "http://127.0.0.1:1"


def conn(**kw: Any) -> Any:
    return SimpleNamespace(endpoint_url=ENDPOINT, profile=None, signed=True, default_region="us-east-1",
                           requester_pays=False, **kw)


def wrong_region(named: str | None) -> errors.S3RegionError:
    return errors.S3RegionError(code="PermanentRedirect", status=301, hints={"bucket_region": named} if named else {})


def recorder(answers: dict[str, list[Any]]) -> tuple[Callable[[str], str], list[str]]:
    """``fn(region)`` that raises or returns the next answer given for that region, and the regions it was
    called in."""
    calls: list[str] = []

    def fn(region: str) -> str:
        calls.append(region)
        answer = answers[region].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return fn, calls


# --- in_region ------------------------------------------------------------------------------------------


def test_an_answer_in_the_region_asked_is_the_result() -> None:
    fn, calls = recorder({"us-east-1": ["ok"]})
    assert in_region(conn(), "b", "us-east-1", fn) == "ok"
    assert calls == ["us-east-1"]
    assert region_cache.get(ENDPOINT, "b") is None  # nothing learnt


def test_the_region_s3_names_is_tried_once_and_remembered() -> None:
    fn, calls = recorder({"us-east-1": [wrong_region("eu-west-1")], "eu-west-1": ["ok"]})
    assert in_region(conn(), "b", "us-east-1", fn) == "ok"
    assert calls == ["us-east-1", "eu-west-1"]
    assert region_cache.get(ENDPOINT, "b") == "eu-west-1"
    assert region_cache.get(ENDPOINT, "other") is None and region_cache.get(None, "b") is None


def test_a_second_redirect_is_not_followed() -> None:
    second = wrong_region("ap-south-1")
    fn, calls = recorder({"us-east-1": [wrong_region("eu-west-1")], "eu-west-1": [second], "ap-south-1": ["ok"]})
    with pytest.raises(errors.S3RegionError) as caught:
        in_region(conn(), "b", "us-east-1", fn)
    assert caught.value is second
    assert calls == ["us-east-1", "eu-west-1"]


@pytest.mark.parametrize("named", [None, "us-east-1"])
def test_a_redirect_naming_no_other_region_is_raised_as_it_is(named: str | None) -> None:
    first = wrong_region(named)
    fn, calls = recorder({"us-east-1": [first, "never"]})
    with pytest.raises(errors.S3RegionError) as caught:
        in_region(conn(), "b", "us-east-1", fn)
    assert caught.value is first and calls == ["us-east-1"]
    assert region_cache.get(ENDPOINT, "b") is None


@pytest.mark.parametrize("failure", [errors.S3AuthError(code="AccessDenied", status=403, hints={
    "bucket_region": "eu-west-1"}), errors.S3NotFound(code="NoSuchKey"), ValueError("not ours")])
def test_other_failures_are_not_redirected(failure: BaseException) -> None:
    # Only an S3RegionError is a redirect, whatever hints another error carries.
    fn, calls = recorder({"us-east-1": [failure], "eu-west-1": ["never"]})
    with pytest.raises(type(failure)):
        in_region(conn(), "b", "us-east-1", fn)
    assert calls == ["us-east-1"]


# --- s3_errors ------------------------------------------------------------------------------------------


def test_within_the_funnel_a_botocore_error_is_raised_as_ours_from_it() -> None:
    raw = bce.ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"},
                           "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject")
    with pytest.raises(errors.S3NotFound) as caught, s3_errors(operation="GetObject", conn=conn(), bucket="b",
                                                               region="eu-west-1"):
        raise raw
    err = caught.value
    assert err.__cause__ is raw
    assert (err.operation, err.bucket, err.region, err.endpoint) == ("GetObject", "b", "eu-west-1", ENDPOINT)
    with pytest.raises(errors.S3NetworkError), s3_errors(operation="HeadObject"):
        raise bce.EndpointConnectionError(endpoint_url=ENDPOINT)


@pytest.mark.parametrize("other", [ValueError("mine"), errors.S3NotFound(code="NoSuchKey"), KeyError("k")])
def test_the_funnel_lets_anything_else_through_untouched(other: BaseException) -> None:
    with pytest.raises(type(other)) as caught, s3_errors(operation="GetObject"):
        raise other
    assert caught.value is other


# --- call: retries inside a region, one redirect around them ---------------------------------------------


class FakeClient:
    """``head_object`` answers from a script per region: an exception to raise, or an answer to return."""

    def __init__(self, region: str, script: dict[str, list[Any]], log: list[tuple[str, dict[str, Any]]]) -> None:
        self.region, self.script, self.log = region, script, log

    def head_object(self, **params: Any) -> Any:
        self.log.append((self.region, params))
        answer = self.script[self.region].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def scripted(script: dict[str, list[Any]]) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    log: list[tuple[str, dict[str, Any]]] = []
    return conn(client=lambda region: FakeClient(region, script, log)), log


def client_error(code: str, status: int, **headers: str) -> bce.ClientError:
    return bce.ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status,
                                                                           "HTTPHeaders": headers}}, "HeadObject")


def no_wait(max_attempts: int = 3) -> tuple[RetryPolicy, list[float]]:
    waits: list[float] = []
    return RetryPolicy(max_attempts=max_attempts, random=lambda: 1.0, sleep=waits.append), waits


def test_call_retries_in_the_region_then_follows_the_redirect_once() -> None:
    moved = client_error("PermanentRedirect", 301, **{"x-amz-bucket-region": "eu-west-1"})
    c, log = scripted({"us-east-1": [client_error("SlowDown", 503), moved],
                       "eu-west-1": [client_error("InternalError", 500), {"ContentLength": 3}]})
    policy, waits = no_wait()
    answer = call(c, "HeadObject", region="us-east-1", policy=policy, Bucket="b", Key="k",
                  read=lambda a: a["ContentLength"])
    assert answer == 3
    assert [region for region, _ in log] == ["us-east-1", "us-east-1", "eu-west-1", "eu-west-1"]
    assert all(params == {"Bucket": "b", "Key": "k"} for _, params in log)
    assert len(waits) == 2  # one retry in each region; the redirect itself is not a retry
    assert region_cache.get(ENDPOINT, "b") == "eu-west-1"


def test_call_raises_ours_once_the_policy_gives_up() -> None:
    c, log = scripted({"us-east-1": [client_error("SlowDown", 503)] * 5})
    policy, waits = no_wait(max_attempts=3)
    with pytest.raises(errors.S3RateLimit) as caught:
        call(c, "HeadObject", region="us-east-1", policy=policy, Bucket="b", Key="k")
    assert caught.value.attempts == 3 and len(log) == 3 and len(waits) == 2
    assert caught.value.operation == "HeadObject" and caught.value.bucket == "b"


def test_call_does_not_retry_what_a_second_try_cannot_cure() -> None:
    c, log = scripted({"us-east-1": [client_error("AccessDenied", 403), "never"]})
    policy, waits = no_wait()
    with pytest.raises(errors.S3AuthError):
        call(c, "HeadObject", region="us-east-1", policy=policy, Bucket="b", Key="k")
    assert len(log) == 1 and waits == []


# --- bucket_region --------------------------------------------------------------------------------------


class HeadBucketClient:
    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.calls = answers, 0

    def head_bucket(self, Bucket: str) -> Any:  # noqa: N803 (botocore's parameter name)
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_a_bucket_region_is_asked_once_and_kept() -> None:
    client = HeadBucketClient([{"ResponseMetadata": {"HTTPStatusCode": 200,
                                                     "HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}}}])
    c = conn(client=lambda region: client)
    policy, _ = no_wait()
    assert bucket_region(c, "b", policy) == "eu-west-1"
    assert bucket_region(c, "b", policy) == "eu-west-1"
    assert client.calls == 1


def test_a_missing_bucket_is_not_found_and_a_silent_store_gets_the_default() -> None:
    policy, _ = no_wait()
    missing = conn(client=lambda region: HeadBucketClient([client_error("404", 404)]))
    with pytest.raises(errors.S3NotFound) as caught:
        bucket_region(missing, "gone", policy)
    assert caught.value.code == "NoSuchBucket" and caught.value.bucket == "gone"
    quiet = HeadBucketClient([{"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}}}])
    assert bucket_region(conn(client=lambda region: quiet), "q", policy) == "us-east-1"
    assert region_cache.get(ENDPOINT, "q") == "us-east-1"  # asked once: it answers the same every time


class NoClient:
    """A connection's ``client`` that fails the test if it is asked for: no request may be made."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, region: str) -> Any:
        self.asked.append(region)
        raise AssertionError(f"a client was made for {region}: a request would have been sent")


@pytest.mark.parametrize(
    ("bucket", "region"),
    [
        pytest.param("arn:aws:s3:eu-west-3:123456789012:accesspoint/my-ap", "eu-west-3", id="access-point"),
        pytest.param("arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap", "cn-north-1", id="china"),
        pytest.param("arn:aws-us-gov:s3:us-gov-east-1:123456789012:accesspoint/my-ap", "us-gov-east-1",
                     id="govcloud"),
        pytest.param("arn:aws:s3-object-lambda:ap-south-1:123456789012:accesspoint/my-olap", "ap-south-1",
                     id="object-lambda"),
        # A Multi-Region Access Point has none: the client's is the connection's default (botocore signs for "*").
        pytest.param("arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap", "us-east-1", id="multi-region"),
        pytest.param("logs--usw2-az1--x-s3", "us-west-2", id="directory-bucket"),
    ],
)
def test_a_bucket_that_fixes_its_region_is_not_asked(bucket: str, region: str) -> None:
    no_client = NoClient()
    policy, waits = no_wait()
    assert bucket_region(conn(client=no_client), bucket, policy) == region
    assert no_client.asked == [] and waits == []
    assert region_cache.get(ENDPOINT, bucket) is None  # nothing to remember: the name says it every time
