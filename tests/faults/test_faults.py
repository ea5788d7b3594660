"""What ``dreambolt_magic.load`` does when S3, or the network on the way, misbehaves.

Each test queues faults on a :class:`FaultProxy` in front of moto and asserts the exact outcome: either
the frame, with the bytes handed to the parser identical to the object, and the exact requests made; or
the exact error class with its ``code``, ``status`` and ``attempts``. Retries wait with the real policy
(full jitter, base 0.2 s), so a test allows at most three attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.client.regions import region_cache
from dreambolt_magic.errors import (
    S3AuthError,
    S3FormatError,
    S3GenericError,
    S3NetworkError,
    S3NotFound,
    S3RateLimit,
    S3RegionError,
)
from dreambolt_magic.transfer.progress import Progress

from .proxy import Corrupt, Cut, Delay, Fault, FaultProxy, Hook, Reply, Reset, Seen, Stall

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "faults"
KEY = "data.csv"
ROWS = 3000  # about 67 KB of CSV
CUT = 10_000  # where a broken body breaks
CHUNK = 1 << 20  # the loader reads the body in chunks of this size (dreambolt_magic.transfer.engine.CHUNK)


# --- arranging and observing ---------------------------------------------------------------------------


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(ROWS, seed=11)


@pytest.fixture
def body(frame: pd.DataFrame) -> bytes:
    return to_bytes(frame, "csv")


@pytest.fixture
def uri(s3: S3Helper, body: bytes) -> str:
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, KEY, body)


def fetch(proxy: FaultProxy, uri: str, **kw: Any) -> pd.DataFrame:
    kw.setdefault("max_attempts", 3)
    return dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, **kw)


def gets(proxy: FaultProxy) -> list[Seen]:
    return [r for r in proxy.requests if r.method == "GET"]


def statuses(proxy: FaultProxy) -> list[int | None]:
    return [r.status for r in gets(proxy)]


def etag_of(s3: S3Helper, key: str = KEY) -> str:
    return str(s3.client.head_object(Bucket=BUCKET, Key=key)["ETag"])


def digit_in(body: bytes) -> int:
    """Where the first row's ``value`` starts, a digit: ``Corrupt(mask=0x01)`` makes it another digit."""
    first_row = body.index(b"\n") + 1
    return body.index(b",", body.index(b",", first_row) + 1) + 1


def assert_loaded(df: pd.DataFrame, frame: pd.DataFrame, parsed: list[bytes], body: bytes) -> None:
    assert parsed == [body]
    pd.testing.assert_frame_equal(df, frame)


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def start(self, total: int | None, description: str = "") -> None:
        self.calls.append(("start", (total, description)))

    def advance(self, n: int) -> None:
        self.calls.append(("advance", (n,)))

    def rewind(self, n: int) -> None:
        self.calls.append(("rewind", (n,)))

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        self.calls.append(("retrying", (attempt, max_attempts, reason, wait)))

    def finish(self, ok: bool) -> None:
        self.calls.append(("finish", (ok,)))

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]


# --- the proxy itself ----------------------------------------------------------------------------------


def test_proxy_forwards_and_records_without_credentials(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert proxy.requests == [
        Seen("HEAD", f"/{BUCKET}", None, None, "us-east-1", 200, None),
        Seen("GET", f"/{BUCKET}/{KEY}", None, None, "us-east-1", 200, None),
    ]
    record = repr(proxy.requests)
    assert "Credential" not in record and "Signature" not in record and "testing" not in record


def test_proxy_counts_down_and_clears(proxy: FaultProxy, uri: str) -> None:
    proxy.add(Fault(Reply(503, "SlowDown"), path="/other/"))  # never matches
    proxy.add(Fault(Reply(500, "InternalError"), times=1))
    fetch(proxy, uri)
    assert statuses(proxy) == [500, 200]

    proxy.clear()
    fetch(proxy, uri)
    assert statuses(proxy) == [200]


# --- throttling and server errors ----------------------------------------------------------------------


def test_slowdown_twice_then_success(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Reply(503, "SlowDown"), times=2))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert statuses(proxy) == [503, 503, 200]
    assert df.attrs["s3"]["attempts"] == 3


def test_slowdown_forever_gives_up_after_max_attempts(proxy: FaultProxy, uri: str) -> None:
    proxy.add(Fault(Reply(503, "SlowDown"), times=None))

    with pytest.raises(S3RateLimit) as caught:
        fetch(proxy, uri, max_attempts=3)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("SlowDown", 503, 3)
    assert statuses(proxy) == [503, 503, 503]


def test_internal_error_once_is_retried(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Reply(500, "InternalError")))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert statuses(proxy) == [500, 200]


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_without_body_once_is_retried(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes, status: int
) -> None:
    proxy.add(Fault(Reply(status)))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert statuses(proxy) == [status, 200]


def test_throttled_head_bucket_is_retried_and_its_region_cached(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    # A 503 without x-amz-bucket-region says nothing about the region: it is retried like any throttling.
    proxy.add(Fault(Reply(503), method="HEAD"))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert [(r.method, r.status) for r in proxy.requests] == [("HEAD", 503), ("HEAD", 200), ("GET", 200)]
    assert region_cache.get(proxy.endpoint_url, BUCKET) == "us-east-1"


# --- connections that fail -----------------------------------------------------------------------------


def test_reset_before_headers_once_is_retried(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Reset()))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert [(r.fault, r.status) for r in gets(proxy)] == [("Reset", None), (None, 200)]


def test_reset_forever_is_a_network_error(proxy: FaultProxy, uri: str) -> None:
    proxy.add(Fault(Reset(), times=None))

    with pytest.raises(S3NetworkError) as caught:
        fetch(proxy, uri, max_attempts=2)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("ConnectionClosed", None, 2)
    assert len(gets(proxy)) == 2


def test_latency_beyond_read_timeout_is_retried(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Delay(1.0)))
    progress = Recorder()

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=progress, max_attempts=3, read_timeout=0.5)

    assert_loaded(df, frame, parsed, body)
    assert [r.fault for r in gets(proxy)] == ["Delay", None]
    assert [args[:3] for args in progress.of("retrying")] == [(1, 3, "ReadTimeout")]


def test_latency_within_read_timeout_is_waited_for(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Delay(0.2)))

    df = fetch(proxy, uri, read_timeout=1.0)

    assert_loaded(df, frame, parsed, body)
    assert statuses(proxy) == [200]


# --- bodies that break ---------------------------------------------------------------------------------


def test_cut_body_is_resumed_with_range_and_if_match(
    proxy: FaultProxy, s3: S3Helper, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Cut(after=CUT)))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    first, second = gets(proxy)
    assert (first.status, first.range, first.if_match) == (200, None, None)
    assert (second.status, second.range, second.if_match) == (206, f"bytes={CUT}-{len(body) - 1}", etag_of(s3))
    assert df.attrs["s3"]["bytes_fetched"] == len(body)  # resumed, not restarted


def test_resumed_bytes_are_checked_against_the_stored_checksum(
    proxy: FaultProxy, s3: S3Helper, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    # The resumed piece arrives damaged (same length, one byte flipped): no single answer can tell, the
    # object's stored CRC32 over the whole buffer does, and the object is read again from the start.
    proxy.add(Fault(Cut(after=CUT)))
    proxy.add(Fault(Corrupt(offset=10)))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert [(seen.status, seen.range) for seen in gets(proxy)] == [
        (200, None),
        (206, f"bytes={CUT}-{len(body) - 1}"),
        (200, None),
    ]


def test_damage_twice_is_a_checksum_error(proxy: FaultProxy, uri: str, body: bytes) -> None:
    for _ in range(2):
        proxy.add(Fault(Cut(after=CUT)))
        proxy.add(Fault(Corrupt(offset=10)))

    with pytest.raises(S3NetworkError) as info:
        fetch(proxy, uri)

    assert info.value.code == "ChecksumMismatch"
    assert len(gets(proxy)) == 4


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA256"])
def test_damaged_single_stream_is_read_again(
    proxy: FaultProxy, s3: S3Helper, frame: pd.DataFrame, parsed: list[bytes], body: bytes, algorithm: str
) -> None:
    # One whole GET, one digit turned into another, the length kept: a frame with a wrong value, which only
    # the stored checksum can tell.
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, KEY, body, ChecksumAlgorithm=algorithm)
    proxy.add(Fault(Corrupt(offset=digit_in(body), mask=0x01)))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert [(seen.status, seen.range, seen.fault) for seen in gets(proxy)] == [
        (200, None, "Corrupt"),
        (200, None, None),
    ]
    assert df.attrs["s3"]["checksum"] == "verified"


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA256"])
def test_single_stream_damaged_every_time_is_a_checksum_error(
    proxy: FaultProxy, s3: S3Helper, parsed: list[bytes], body: bytes, algorithm: str
) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, KEY, body, ChecksumAlgorithm=algorithm)
    proxy.add(Fault(Corrupt(offset=digit_in(body), mask=0x01), times=None))

    with pytest.raises(S3NetworkError) as info:
        fetch(proxy, uri)

    assert info.value.code == "ChecksumMismatch"
    assert parsed == []  # the damaged bytes never reached the parser
    assert statuses(proxy) == [200, 200]


def test_close_delimited_body_cut_is_caught_by_checksum(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    # Without Content-Length a cut looks like the end of the body; the object's CRC32 (boto3 uploads one,
    # moto returns it) is what can tell. The loader should then retry, or fail as a network error.
    proxy.add(Fault(Cut(after=CUT, keep_length=False)))

    try:
        df = fetch(proxy, uri)
    except (S3NetworkError, S3FormatError) as exc:
        assert exc.code is not None
    else:
        assert_loaded(df, frame, parsed, body)
        assert statuses(proxy) == [200, 200]


def test_close_delimited_body_cut_without_checksum_is_not_a_wrong_frame(
    proxy: FaultProxy, s3: S3Helper, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    # An object stored without a checksum (older uploaders): only the length could tell, and it is missing.
    s3.make_bucket(BUCKET)
    plain = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3.endpoint_url,
        config=Config(request_checksum_calculation="when_required"),
    )
    plain.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    plain.close()
    proxy.add(Fault(Cut(after=CUT, keep_length=False)))

    try:
        df = fetch(proxy, s3.uri(BUCKET, KEY))
    except (S3NetworkError, S3FormatError) as exc:
        assert exc.code is not None
    else:
        assert_loaded(df, frame, parsed, body)
        assert statuses(proxy) == [200, 200]


def test_close_delimited_body_reset_after_a_chunk_is_not_spliced(
    proxy: FaultProxy, s3: S3Helper, parsed: list[bytes]
) -> None:
    # Larger than one read chunk, so the first chunk is kept when the connection then breaks; with no
    # Content-Length there is no resuming, so the retry must start the buffer afresh.
    big = make_frame(48_000, seed=5)
    data = to_bytes(big, "csv")
    assert len(data) > CHUNK + CUT
    s3.make_bucket(BUCKET)
    proxy.add(Fault(Cut(after=CHUNK + CUT, keep_length=False, reset=True)))

    df = fetch(proxy, s3.put(BUCKET, KEY, data))

    assert_loaded(df, big, parsed, data)
    assert [(r.status, r.range) for r in gets(proxy)] == [(200, None), (200, None)]


def test_stall_beyond_read_timeout_is_retried(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Stall(after=CUT, seconds=2.0)))

    df = fetch(proxy, uri, read_timeout=0.5)

    assert_loaded(df, frame, parsed, body)
    # The loader reads whole chunks of 1 MiB: bytes of a chunk that times out are lost with it, so an
    # object smaller than a chunk is fetched again from the start.
    assert [(r.fault, r.status, r.range) for r in gets(proxy)] == [("Stall", 200, None), (None, 200, None)]


def test_stall_after_a_chunk_is_resumed(proxy: FaultProxy, s3: S3Helper, parsed: list[bytes]) -> None:
    big = make_frame(48_000, seed=5)
    data = to_bytes(big, "csv")
    s3.make_bucket(BUCKET)
    proxy.add(Fault(Stall(after=CHUNK + CUT, seconds=2.0)))

    df = fetch(proxy, s3.put(BUCKET, KEY, data), read_timeout=0.5)

    assert_loaded(df, big, parsed, data)
    first, second = gets(proxy)
    assert (first.fault, first.range) == ("Stall", None)
    assert (second.status, second.range, second.if_match) == (206, f"bytes={CHUNK}-{len(data) - 1}", etag_of(s3))
    assert df.attrs["s3"]["bytes_fetched"] == len(data)


# --- the object changes while it is read ---------------------------------------------------------------


def replacer(s3: S3Helper, *bodies: bytes) -> Callable[[], None]:
    """A hook that puts the next of ``bodies`` in place of the object each time it runs."""
    queue = list(bodies)

    def replace() -> None:
        s3.client.put_object(Bucket=BUCKET, Key=KEY, Body=queue.pop(0))

    return replace


def test_object_replaced_before_resume_is_read_again_from_scratch(
    proxy: FaultProxy, s3: S3Helper, uri: str, parsed: list[bytes], body: bytes
) -> None:
    old_etag = etag_of(s3)
    new = make_frame(ROWS + 500, seed=12)
    new_body = to_bytes(new, "csv")
    proxy.add(Fault(Cut(after=CUT)))
    proxy.add(Fault(Hook(replacer(s3, new_body))))

    df = fetch(proxy, uri)

    assert_loaded(df, new, parsed, new_body)
    assert [(r.status, r.range, r.if_match) for r in gets(proxy)] == [
        (200, None, None),
        (412, f"bytes={CUT}-{len(body) - 1}", old_etag),
        (200, None, None),
    ]
    assert df.attrs["s3"]["etag"] == etag_of(s3)
    assert df.attrs["s3"]["size"] == len(new_body)


def test_object_replaced_twice_is_object_changed(proxy: FaultProxy, s3: S3Helper, uri: str) -> None:
    second = to_bytes(make_frame(ROWS + 500, seed=12), "csv")
    third = to_bytes(make_frame(ROWS + 900, seed=13), "csv")
    for replacement in (second, third):
        proxy.add(Fault(Cut(after=CUT)))
        proxy.add(Fault(Hook(replacer(s3, replacement))))

    with pytest.raises(S3GenericError) as caught:
        fetch(proxy, uri, max_attempts=3)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("ObjectChanged", 412, 3)
    assert statuses(proxy) == [200, 412, 200, 412]


# --- refusals are not retried --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "AccessDenied"])
def test_auth_refusal_is_not_retried(proxy: FaultProxy, uri: str, code: str) -> None:
    proxy.add(Fault(Reply(403, code), times=None))

    with pytest.raises(S3AuthError) as caught:
        fetch(proxy, uri)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == (code, 403, 1)
    assert statuses(proxy) == [403]


def test_no_such_key_is_not_retried(proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)

    with pytest.raises(S3NotFound) as caught:
        fetch(proxy, s3.uri(BUCKET, "missing.csv"))

    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("NoSuchKey", 404, 1)
    assert statuses(proxy) == [404]


# --- the bucket is in another region -------------------------------------------------------------------

REDIRECTS = {
    "PermanentRedirect": Reply(301, "PermanentRedirect", headers={"x-amz-bucket-region": "eu-west-1"}),
    "AuthorizationHeaderMalformed": Reply(400, "AuthorizationHeaderMalformed", fields={"Region": "eu-west-1"}),
}


@pytest.mark.parametrize("name", list(REDIRECTS))
def test_region_redirect_is_followed_once(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes, name: str
) -> None:
    proxy.add(Fault(REDIRECTS[name]))

    df = fetch(proxy, uri)

    assert_loaded(df, frame, parsed, body)
    assert [(r.status, r.region) for r in gets(proxy)] == [
        (REDIRECTS[name].status, "us-east-1"),
        (200, "eu-west-1"),
    ]
    assert df.attrs["s3"]["region"] == "eu-west-1"
    assert region_cache.get(proxy.endpoint_url, BUCKET) == "eu-west-1"


@pytest.mark.parametrize("name", list(REDIRECTS))
def test_region_redirect_forever_is_a_region_error(proxy: FaultProxy, uri: str, name: str) -> None:
    proxy.add(Fault(REDIRECTS[name], times=None))

    with pytest.raises(S3RegionError) as caught:
        fetch(proxy, uri)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == (name, REDIRECTS[name].status, 1)
    assert "--region eu-west-1" in caught.value.remedy
    assert [r.region for r in gets(proxy)] == ["us-east-1", "eu-west-1"]


def test_head_bucket_forbidden_still_names_the_region(
    proxy: FaultProxy, s3: S3Helper, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    # Allowed to read the object but not to list the bucket: HeadBucket is 403, yet names the region.
    s3.make_bucket(BUCKET, region="ap-south-1")
    proxy.add(Fault(Reply(403, headers={"x-amz-bucket-region": "ap-south-1"}), method="HEAD"))

    df = fetch(proxy, s3.put(BUCKET, KEY, body))

    assert_loaded(df, frame, parsed, body)
    assert [(r.method, r.status, r.region) for r in proxy.requests] == [
        ("HEAD", 403, "us-east-1"),
        ("GET", 200, "ap-south-1"),
    ]
    assert df.attrs["s3"]["region"] == "ap-south-1"


# --- progress ------------------------------------------------------------------------------------------


def test_progress_is_told_why_it_retries(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame, parsed: list[bytes], body: bytes
) -> None:
    proxy.add(Fault(Reply(503, "SlowDown")))
    progress = Recorder()
    assert isinstance(progress, Progress)

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=progress, max_attempts=3)

    assert_loaded(df, frame, parsed, body)
    (retry,) = progress.of("retrying")
    assert retry[:3] == (1, 3, "SlowDown")
    assert 0.0 <= retry[3] <= 0.2
    assert sum(n for (n,) in progress.of("advance")) == len(body)
    assert progress.calls[-1] == ("finish", (True,))
