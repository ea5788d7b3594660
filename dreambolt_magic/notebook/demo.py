"""An embedded S3 server with sample data: what ``%s3ingest_demo`` and ``make demo`` run against.

:class:`DemoServer` runs moto's S3 in a thread on 127.0.0.1 at a free port and :meth:`DemoServer.seed`
fills one bucket with small, realistic data sets in every format the loader reads, plus one object
that is not what its name says, to show what an error looks like::

    with start_demo_server() as demo:
        os.environ.update(demo.environ())     # the caller decides whether to do this
        df = load(demo.uris["parquet"])

The data are generated, not shipped: a seeded NumPy generator makes the same bytes on every run. moto
is an optional dependency (the ``demo`` extra) and is imported only when a server starts.
``python -m dreambolt_magic.notebook.demo`` runs a server in the foreground until Ctrl-C.

moto keeps its state per process, not per server: every moto server (and ``mock_aws``) in one process
sees the same buckets, so a reset of another server (``POST /moto-api/reset``) empties the demo's too.
"""

from __future__ import annotations

import argparse
import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from dreambolt_magic.notebook.sample_data import DATASETS, Dataset, sample_objects

__all__ = [
    "DATASETS",
    "DEMO_BUCKET",
    "DEMO_REGION",
    "Dataset",
    "DemoServer",
    "demo_credentials",
    "restore_environ",
    "main",
    "sample_objects",
    "start_demo_server",
]

DEMO_BUCKET = "dreambolt-demo"
#: Not us-east-1 on purpose, so that region detection has a real answer to find.
DEMO_REGION = "eu-west-1"

# moto only needs requests to be signed; these open nothing anywhere else.
_ACCESS_KEY = "demo"
_SECRET_KEY = "demo-not-a-secret"
_MOTO_MISSING = "the embedded S3 server needs moto: pip install 'dreambolt_magic[demo]'"


def start_demo_server(*, seed: bool = True) -> DemoServer:
    """Start a :class:`DemoServer` on a free port and, unless ``seed=False``, fill its bucket."""
    server = DemoServer().start()
    if seed:
        try:
            server.seed()
        except BaseException:
            server.stop()
            raise
    return server


class DemoServer:
    """moto's S3 on 127.0.0.1, serving one bucket of sample data in :data:`DEMO_REGION`.

    Nothing happens until :meth:`start` (or ``with``); ``port=0`` picks a free port. ``uris`` maps a
    short label (``"parquet"``, ``"csv.gz"``, ...; see :data:`DATASETS`) to an ``s3://`` URI and is
    filled by :meth:`seed`. ``log_requests`` lets werkzeug print a line per request, as the command
    line does; in a notebook those lines would land in the cell's output.
    """

    bucket = DEMO_BUCKET
    region = DEMO_REGION

    def __init__(self, *, port: int = 0, log_requests: bool = False) -> None:
        self._requested_port = port
        self._log_requests = log_requests
        self._server: Any = None
        self._client: Any = None
        self.uris: dict[str, str] = {}

    def __repr__(self) -> str:
        where = self.endpoint_url if self._server is not None else "not started"
        return f"<DemoServer {where} bucket={self.bucket!r}>"

    def __enter__(self) -> DemoServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port the server listens on (the real one, also when started with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("the demo server is not running: call start() first")
        return int(self._server.get_host_and_port()[1])

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``endpoint_url=`` or ``AWS_ENDPOINT_URL_S3``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoServer:
        """Start listening; returns ``self``. Starting a running server is an error."""
        if self._server is not None:
            raise RuntimeError(f"the demo server is already running at {self.endpoint_url}")
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as e:
            raise ImportError(_MOTO_MISSING) from e
        if self._requested_port:
            # moto binds in its thread and start() would wait forever if that failed; fail here instead.
            socket.create_server(("127.0.0.1", self._requested_port)).close()
        if not self._log_requests:
            # werkzeug logs every request at INFO to stderr unless its logger was configured; only quiet
            # it when nobody did.
            werkzeug_log = logging.getLogger("werkzeug")
            if werkzeug_log.level == logging.NOTSET:
                werkzeug_log.setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._requested_port, verbose=False)
        server.start()
        self._server = server
        return self

    def environ(self) -> dict[str, str]:
        """The environment variables that point boto3, s3fs and the loader at this server.

        Nothing is set here: the caller chooses, e.g. ``os.environ.update(demo.environ())``. No region
        is given, so the loader has to find the bucket's region itself.
        """
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": _ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": _SECRET_KEY,
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server, with the demo's fake credentials; shared, do not close."""
        if self._client is None:
            import boto3

            # A session of its own, so the demo never reads or changes the caller's AWS settings.
            self._client = boto3.session.Session().client(
                "s3",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id=_ACCESS_KEY,
                aws_secret_access_key=_SECRET_KEY,
            )
        return self._client

    def seed(self) -> dict[str, str]:
        """Create the bucket and upload every object in :data:`DATASETS`; returns :attr:`uris`.

        Safe to call again: the bucket is reused and the objects are overwritten with the same bytes.
        """
        client = self.client()
        try:
            client.create_bucket(
                Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
            )
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        bodies = sample_objects()
        for dataset in DATASETS:
            client.put_object(
                Bucket=self.bucket,
                Key=dataset.key,
                Body=bodies[dataset.key],
                ContentType=dataset.content_type,
            )
            self.uris[dataset.label] = f"s3://{self.bucket}/{dataset.key}"
        return self.uris

    def stop(self) -> None:
        """Stop listening and free the port. Stopping twice is harmless.

        The bucket stays in moto's in-process state (see the module docstring), so another moto server
        in this process still sees it until moto is reset; a new demo server can seed over it.
        """
        if self._server is None:
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        self._server.stop()
        self._server = None


# --- python -m dreambolt_magic.notebook.demo ------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run a seeded demo server in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m dreambolt_magic.notebook.demo", description="Serve the dreambolt_magic sample data over S3."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    server = DemoServer(port=args.port, log_requests=True).start()
    try:
        server.seed()
        print(f"S3 endpoint: {server.endpoint_url}  (bucket {server.bucket}, region {server.region})")
        print("Point a shell at it with:")
        for name, value in server.environ().items():
            print(f"  export {name}={value}")
        print("Objects:")
        width = max(len(uri) for uri in server.uris.values())
        for dataset in DATASETS:
            print(f"  {server.uris[dataset.label]:<{width}}  {dataset.description}")
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def demo_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """Give the demo fake credentials only when none are configured, so loads are signed as on AWS; returns
    every ``AWS_*`` variable as it was before, for :func:`restore_environ` when the demo stops.

    Credentials a user already has are left alone: the embedded server accepts any signature, and they
    never leave this machine.
    """
    import os

    import boto3

    saved = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    if boto3.Session().get_credentials() is None:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, environ[name])
    return saved


def restore_environ(saved: Mapping[str, str]) -> None:
    """Put every ``AWS_*`` variable back as :func:`demo_credentials` found it (the demo's fake credentials go)."""
    import os

    for name in [n for n in os.environ if n.startswith("AWS_") and n not in saved]:
        del os.environ[name]
    os.environ.update(saved)
