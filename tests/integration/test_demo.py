"""The embedded demo server, and the suite's own ``s3`` fixture, against moto on 127.0.0.1."""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import json
import lzma
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dreambolt_magic.notebook import demo
from dreambolt_magic.notebook.demo import DATASETS, DEMO_BUCKET, DEMO_REGION, DemoServer, start_demo_server

BY_LABEL = {dataset.label: dataset for dataset in DATASETS}


def _read(label: str, body: bytes) -> pd.DataFrame:
    """Parse a demo object with pandas/pyarrow directly (not with the loader under test)."""
    if label == "parquet":
        return pq.read_table(pa.py_buffer(body)).to_pandas()
    if label == "feather":
        return pd.read_feather(io.BytesIO(body))
    if label == "csv.gz":
        return pd.read_csv(io.BytesIO(gzip.decompress(body)))
    if label == "csv.bz2":
        return pd.read_csv(io.BytesIO(bz2.decompress(body)))
    if label == "csv.xz":
        return pd.read_csv(io.BytesIO(lzma.decompress(body)))
    if label == "csv.zst":
        with pa.CompressedInputStream(pa.py_buffer(body), "zstd") as stream:
            return pd.read_csv(io.BytesIO(stream.read()))
    if label == "jsonl":
        return pd.read_json(io.BytesIO(body), lines=True)
    if label == "json":
        return pd.DataFrame(json.loads(body))
    if label == "tsv":
        return pd.read_csv(io.BytesIO(body), sep="\t")
    raise AssertionError(f"no reader for {label}")


@pytest.fixture(scope="class")
def server() -> Iterator[DemoServer]:
    """One seeded demo server for :class:`TestSeededServer`, whose checks leave its data as they found it."""
    with start_demo_server() as server:
        yield server


class TestSeededServer:
    def test_endpoint_is_loopback_at_a_real_port(self, server: DemoServer) -> None:
        assert server.running
        assert server.port > 0
        assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
        assert server.bucket == DEMO_BUCKET == "dreambolt-demo"
        assert server.region == DEMO_REGION == "eu-west-1"

    def test_every_uri_is_an_object_in_the_bucket(self, server: DemoServer) -> None:
        assert list(server.uris) == [dataset.label for dataset in DATASETS]
        listed = {
            obj["Key"]: obj["Size"] for obj in server.client().list_objects_v2(Bucket=DEMO_BUCKET)["Contents"]
        }
        for label, uri in server.uris.items():
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            assert bucket == DEMO_BUCKET
            assert key == BY_LABEL[label].key
            assert 0 < listed[key] < 2 * 1024 * 1024, (label, listed[key])

    def test_bucket_region_header_is_eu_west_1(self, server: DemoServer) -> None:
        import boto3

        # Ask from another region, as a loader does before it knows where the bucket lives.
        client = boto3.session.Session().client(
            "s3",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        try:
            response = client.head_bucket(Bucket=DEMO_BUCKET)
        finally:
            client.close()
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"

    @pytest.mark.parametrize("label", [d.label for d in DATASETS if d.rows is not None])
    def test_dataset_parses_to_documented_shape(self, server: DemoServer, label: str) -> None:
        dataset = BY_LABEL[label]
        body = server.client().get_object(Bucket=DEMO_BUCKET, Key=dataset.key)["Body"].read()
        df = _read(label, body)
        assert tuple(df.columns) == dataset.columns
        assert len(df) == dataset.rows
        assert not df.isna().any().any()

    def test_trips_types(self, server: DemoServer) -> None:
        body = server.client().get_object(Bucket=DEMO_BUCKET, Key="trips.parquet")["Body"].read()
        schema = pq.read_schema(pa.py_buffer(body))
        assert pa.types.is_timestamp(schema.field("pickup_at").type)
        assert pa.types.is_timestamp(schema.field("dropoff_at").type)
        assert pa.types.is_integer(schema.field("passenger_count").type)
        assert pa.types.is_floating(schema.field("trip_distance").type)
        assert pq.ParquetFile(pa.py_buffer(body)).metadata.row_group(0).column(0).compression == "SNAPPY"
        trips = pq.read_table(pa.py_buffer(body)).to_pandas()
        assert (trips["dropoff_at"] > trips["pickup_at"]).all()
        assert set(trips["payment_type"]) <= {"credit_card", "cash", "no_charge", "dispute"}

    def test_broken_object_is_csv_behind_a_parquet_name(self, server: DemoServer) -> None:
        assert server.uris["broken"].endswith(".parquet")
        body = server.client().get_object(Bucket=DEMO_BUCKET, Key=BY_LABEL["broken"].key)["Body"].read()
        assert body.startswith(b"station_id,")
        with pytest.raises(pa.ArrowInvalid):
            pq.read_table(pa.py_buffer(body))

    def test_seeded_bytes_are_deterministic(self, server: DemoServer) -> None:
        expected = demo.sample_objects()
        for dataset in DATASETS:
            body = server.client().get_object(Bucket=DEMO_BUCKET, Key=dataset.key)["Body"].read()
            assert body == expected[dataset.key], dataset.key

    def test_environ_points_at_the_server_with_fake_credentials(self, server: DemoServer) -> None:
        assert server.environ() == {
            "AWS_ENDPOINT_URL_S3": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo-not-a-secret",
        }

    def test_seed_again_is_harmless(self, server: DemoServer) -> None:
        assert server.seed() == server.uris
        assert server.client().list_objects_v2(Bucket=DEMO_BUCKET)["KeyCount"] == len(DATASETS)


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _presigned(endpoint_url: str, bucket: str, key: str, access_key: str, secret_key: str) -> str:
    import boto3

    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )
    try:
        return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    finally:
        client.close()


def test_stop_frees_the_port() -> None:
    server = DemoServer().start()
    port = server.port
    assert not _refused(port)
    server.stop()
    assert not server.running
    assert _refused(port)
    server.stop()  # twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        server.endpoint_url  # noqa: B018


def test_context_manager_starts_and_stops() -> None:
    with DemoServer() as server:
        port = server.port
        assert server.uris == {}  # not seeded: only start_demo_server() seeds by default
    assert _refused(port)


def test_start_twice_is_an_error() -> None:
    with DemoServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_busy_port_fails_instead_of_hanging() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            DemoServer(port=port).start()


def test_missing_moto_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setitem(sys.modules, "moto.server", None)
    with pytest.raises(ImportError, match=r"pip install 'dreambolt_magic\[demo\]'"):
        DemoServer().start()


def _imported(nodes: Any) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_module_imports_neither_ipython_nor_moto_at_top_level() -> None:
    tree = ast.parse(Path(demo.__file__).read_text())
    assert not _imported(ast.walk(tree)) & {"IPython", "ipywidgets"}
    # The heavy and optional libraries load when a server starts or data is made, not on import.
    assert not _imported(tree.body) & {"moto", "boto3", "botocore", "numpy", "pandas", "pyarrow"}


def test_python_dash_m_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dreambolt_magic.notebook.demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (CI, `make test &`) passes SIGINT on ignored; a user's terminal
        # does not, and that is the case under test.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        output = "".join(lines)
        assert "S3 endpoint: http://127.0.0.1:" in output, output + proc.stderr.read()  # type: ignore[union-attr]
        assert "s3://dreambolt-demo/trips.parquet" in output
        endpoint = output.split("S3 endpoint: ", 1)[1].split()[0]
        url = _presigned(endpoint, "dreambolt-demo", "stations.tsv", "demo", "demo-not-a-secret")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read().startswith(b"station_id\tname")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# --- the suite's fixtures -----------------------------------------------------------------------------


def test_s3_fixture_round_trip_over_http(s3: Any) -> None:
    bucket = s3.make_bucket("fixture-check")
    uri = s3.put(bucket, "dir/hello.txt", b"hello, moto", ContentType="text/plain")
    assert uri == s3.uri(bucket, "dir/hello.txt") == "s3://fixture-check/dir/hello.txt"
    assert s3.endpoint_url.startswith("http://127.0.0.1:")
    # Plain HTTP (a presigned GET), no SDK: what was put is really served by the server at endpoint_url.
    url = _presigned(s3.endpoint_url, bucket, "dir/hello.txt", "testing", "testing")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"hello, moto"
        assert response.headers["Content-Type"] == "text/plain"


def test_s3_fixture_makes_buckets_in_other_regions(s3: Any) -> None:
    s3.make_bucket("far-away", region="ap-southeast-2")
    headers = s3.client.head_bucket(Bucket="far-away")["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-bucket-region"] == "ap-southeast-2"


def test_s3_fixture_starts_empty_with_fake_credentials(s3: Any) -> None:
    assert s3.client.list_buckets()["Buckets"] == []
    assert os.environ["AWS_ACCESS_KEY_ID"] == os.environ["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        assert name not in os.environ
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        assert Path(os.environ[name]).read_bytes() == b""


def test_guard_blocks_everything_but_loopback() -> None:
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("s3.amazonaws.com", 443)
    # 192.0.2.0/24 is TEST-NET-1; the guard refuses before a packet leaves.
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="loopback"):
        sock.connect(("192.0.2.1", 443))
    assert socket.getaddrinfo("localhost", 80)
