"""Fixtures shared by the whole suite: a local S3 (moto), a guard that keeps tests off the network, a
fault-injecting proxy and a real IPython shell.

- ``s3_server`` (session): moto's ThreadedMotoServer on 127.0.0.1 at a free port.
- ``s3`` (per test, on request): resets moto, sets fake credentials and isolates ~/.aws, and returns
  an :class:`S3Helper` for making buckets and objects.
- ``_offline`` (session, autouse): no test can find real AWS credentials, ask EC2 metadata for some,
  resolve a public host name or connect anywhere but loopback.
- ``_fresh_region_cache`` (autouse): the process-wide bucket-region cache is empty when each test starts
  and when it ends.
- ``proxy`` (per test, on request): a started :class:`~faults.proxy.FaultProxy` in front of the ``s3``
  fixture's moto, no faults queued; pass ``endpoint_url=proxy.endpoint_url`` to the loader and arrange
  buckets with ``s3`` directly.
- ``shell`` (module): the process's ``InteractiveShell`` singleton. ``display()`` and
  ``capture_output()`` find the shell through the singleton, so the magics must run in it. If another
  module already made one, it is reused and left in place; if this module made it, it is cleared at the end
  so later modules can make their own (``start_ipython()`` would otherwise meet a foreign singleton).
- ``ip`` (per test): the extension freshly loaded, ``endpoint_url`` set to moto and ``progress`` off by
  ``%config``; afterwards the extension is unloaded, the ``S3IngestMagics`` config section forgotten and
  the names a test bound removed or put back, so nothing leaks into the next test.

Sample data to put in buckets: ``from helpers import make_frame, to_bytes`` (tests/helpers.py).
"""

from __future__ import annotations

import builtins
import ipaddress
import os
import socket
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dreambolt_magic.client.regions import region_cache

if TYPE_CHECKING:
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

# Variables that would lead botocore to real credentials, a real profile or a real endpoint.
_AWS_LEAKS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


# --- keeping every test off the network -------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[None]:
    """Within, name lookups and connections reach only this machine; everything else fails at once.

    A test that would reach a real S3 gets a name-resolution or connection error, as it would offline,
    instead of sending a packet. Patches ``socket.getaddrinfo`` and ``socket.socket.connect(_ex)``, which
    urllib3 (boto3), asyncio (aiohttp, s3fs) and the standard library all go through.
    """
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    local_names = {"localhost", "localhost.localdomain", "ip6-localhost", socket.gethostname()}

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "") and name not in local_names:
            try:
                ipaddress.ip_address(name.split("%", 1)[0])  # a literal address: no lookup, no traffic
            except ValueError:
                raise socket.gaierror(
                    socket.EAI_NONAME, f"tests may not resolve {name!r}: only loopback is reachable"
                ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(address[0])):
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    setattr(socket, "getaddrinfo", getaddrinfo)  # noqa: B010 (plain assignment upsets type checkers)
    setattr(socket.socket, "connect", connect)  # noqa: B010
    setattr(socket.socket, "connect_ex", connect_ex)  # noqa: B010
    try:
        yield
    finally:
        setattr(socket, "getaddrinfo", real_getaddrinfo)  # noqa: B010
        setattr(socket.socket, "connect", real_connect)  # noqa: B010
        setattr(socket.socket, "connect_ex", real_connect_ex)  # noqa: B010


@pytest.fixture(scope="session", autouse=True)
def _offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test talks to real AWS: fake credentials, no metadata service, no ~/.aws, loopback only.

    Session-wide, so it uses os.environ (monkeypatch is per test) and puts everything back at the end.
    The ``s3`` fixture repeats the environment part per test, in case a test changed it.
    """
    aws_dir = tmp_path_factory.mktemp("aws")
    (aws_dir / "config").touch()
    (aws_dir / "credentials").touch()
    wanted: dict[str, str | None] = dict.fromkeys(_AWS_LEAKS)
    wanted.update(_FAKE_CREDENTIALS)
    wanted.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(aws_dir / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(aws_dir / "credentials"),
    )
    saved = {name: os.environ.get(name) for name in wanted}
    _set_environ(wanted)
    try:
        with loopback_only():
            yield
    finally:
        _set_environ(saved)


def _set_environ(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --- a local S3 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotoEndpoint:
    """Where the session's moto server listens."""

    host: str
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every bucket and object (moto's state is per process, shared by all its servers)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoEndpoint]:
    """moto's S3 in a thread on 127.0.0.1 at a free port, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoEndpoint(host=host, port=port)
    finally:
        server.stop()


class S3Helper:
    """What a test needs to arrange S3: an endpoint, a client, and shortcuts for buckets and objects."""

    def __init__(self, endpoint_url: str, clients: dict[str, Any] | None = None) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {} if clients is None else clients

    @property
    def client(self) -> Any:
        """A boto3 S3 client for the server, region us-east-1, fake credentials."""
        return self.client_for("us-east-1")

    def client_for(self, region: str) -> Any:
        """A client signed for ``region`` (moto checks a bucket's LocationConstraint against it)."""
        if region not in self._clients:
            import boto3

            self._clients[region] = boto3.session.Session().client(
                "s3",
                region_name=region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id=_FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=_FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[region]

    def make_bucket(self, name: str, region: str = "us-east-1") -> str:
        """Create bucket ``name`` in ``region``; returns the name."""
        if region == "us-east-1":
            self.client.create_bucket(Bucket=name)
        else:
            self.client_for(region).create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
            )
        return name

    def put(self, bucket: str, key: str, body: bytes, **kw: Any) -> str:
        """Upload ``body`` (extra ``put_object`` arguments in ``kw``); returns the object's URI."""
        self.client.put_object(Bucket=bucket, Key=key, Body=body, **kw)
        return self.uri(bucket, key)

    def uri(self, bucket: str, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{bucket}/{key}"

    def close(self) -> None:
        """Close the clients' connection pools."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()


@pytest.fixture(scope="session")
def _s3_clients() -> Iterator[dict[str, Any]]:
    """boto3 clients for the session's server, one per region: a new client costs about 0.1 s (it parses
    the S3 service model), more than a whole load; their fixed fake credentials never change."""
    clients: dict[str, Any] = {}
    yield clients
    S3Helper("", clients).close()


@pytest.fixture
def s3(
    s3_server: MotoEndpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _s3_clients: dict[str, Any]
) -> S3Helper:
    """An empty moto S3 and an environment that knows only fake credentials, for one test."""
    import boto3

    s3_server.reset()
    for name in _AWS_LEAKS:
        monkeypatch.delenv(name, raising=False)
    for name, value in _FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws_dir = tmp_path / "aws"
    aws_dir.mkdir()
    (aws_dir / "config").touch()
    (aws_dir / "credentials").touch()
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_dir / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_dir / "credentials"))
    # boto3's default session caches the credentials and config it found first; start each test afresh.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return S3Helper(s3_server.endpoint_url, _s3_clients)


# --- state the loader keeps between loads ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_region_cache() -> Iterator[None]:
    """An empty bucket-region cache, before and after: a region one test learnt would spare the next a lookup."""
    region_cache.clear()
    yield
    region_cache.clear()


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    """No kept connection, before and after: one test's would serve the next, with its sockets."""
    from dreambolt_magic.client import connection

    connection.forget()
    yield
    connection.forget()


# --- faults between the loader and S3 ----------------------------------------------------------------


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes the loader hands to its parser (``readers.read``), one entry per call, to compare bit for bit."""
    from dreambolt_magic.formats import readers

    seen: list[bytes] = []
    real = readers.read

    def spy(data: Any, **kw: Any) -> Any:
        seen.append(bytes(data))
        return real(data, **kw)

    monkeypatch.setattr(readers, "read", spy)
    return seen


@pytest.fixture
def proxy(s3: S3Helper) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of moto, with no faults queued."""
    from faults.proxy import FaultProxy

    with FaultProxy(s3.endpoint_url) as running:
        yield running


# --- a real IPython shell ----------------------------------------------------------------------------

EXTENSION = "dreambolt_magic"
SECTION = "S3IngestMagics"


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    """The InteractiveShell singleton, with history kept in memory (no ~/.ipython database)."""
    # Imported here, not above, so that tests which need no shell never import IPython.
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        yield InteractiveShell.instance()
        return
    main, builtin_names = sys.modules["__main__"], set(vars(builtins))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    instance = InteractiveShell.instance(config=config)
    # The shell installs its user module as __main__; pytest's belongs there (as start_ipython() does).
    sys.modules["__main__"] = main
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()
        # It also adds builtins such as __IPYTHON__, which libraries read as "running in IPython".
        for name in set(vars(builtins)) - builtin_names:
            delattr(builtins, name)


def _forget_config(shell: InteractiveShell) -> None:
    # %config merges its section into every configurable's config, the shell's included, and a Magics
    # instance made later takes its config from the shell (its parent): drop the section everywhere.
    for configurable in [shell, *shell.configurables]:
        if SECTION in configurable.config:
            del configurable.config[SECTION]


def _unload(shell: InteractiveShell) -> None:
    """Unload the extension, and stop a demo server it kept for a reload: no test inherits one."""
    from dreambolt_magic.notebook import extension

    if EXTENSION in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", EXTENSION)
    extension._stop_parked()


@pytest.fixture
def ip(shell: InteractiveShell, s3: S3Helper) -> Iterator[InteractiveShell]:
    """The shell with the extension loaded afresh, reading from moto, progress bar off."""
    _unload(shell)
    _forget_config(shell)
    saved_ns = dict(shell.user_ns)
    shell.run_line_magic("load_ext", EXTENSION)
    shell.run_line_magic("config", f"{SECTION}.endpoint_url = {s3.endpoint_url!r}")
    shell.run_line_magic("config", f"{SECTION}.progress = False")
    try:
        yield shell
    finally:
        _unload(shell)
        _forget_config(shell)
        for name in set(shell.user_ns) - set(saved_ns):
            del shell.user_ns[name]
        for name, value in saved_ns.items():
            if shell.user_ns.get(name) is not value:
                shell.user_ns[name] = value
