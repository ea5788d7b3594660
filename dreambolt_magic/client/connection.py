"""Credentials and clients: a botocore session with the settings of a load, and a client per region.

:class:`Connection` reads the credentials through the standard chain (or a named profile), decides whether
requests are signed (``anon``, or the unsigned fallback when no credentials exist at all) and makes the
clients with our settings: botocore's own retries off (ours wrap every call) and its region redirector off
(we follow a redirect ourselves, so the region reported is the region used). Path-style addressing is forced
only with an ``endpoint_url``: on AWS, botocore chooses the addressing itself, as access point ARNs and
directory buckets (whose sessions botocore creates with CreateSession) need. The clients refuse requests for
access point ARNs they cannot or must not send (:mod:`~dreambolt_magic.client.access_points`). With
``requester_pays`` every request its clients send carries ``x-amz-request-payer: requester``, added here once
for all operations: the
HEADs, GETs and listings take botocore's ``RequestPayer`` parameter, but HeadBucket (the region lookup) and
ListBuckets have none, and a Requester Pays bucket refuses any of them without the header.

:meth:`Connection.lease` lends a load a connection kept from an earlier load with the same settings, as long
as nothing the credentials are read from has changed since: the ``AWS_*`` environment variables and the config
and credentials files. A notebook's next cell then reuses the session, its credentials and its clients' open
connections, and pays neither for making them nor for a new TCP (and, on S3, TLS) handshake.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import botocore.exceptions as bce
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from dreambolt_magic.client import config_files
from dreambolt_magic.client.access_points import refuse_unsendable
from dreambolt_magic.client.inflight import track_requests
from dreambolt_magic.client.models import ModelLoader
from dreambolt_magic.client.translation import translate
from dreambolt_magic.errors import S3AuthError
from dreambolt_magic.options import ConnectOptions
from dreambolt_magic.uri import public_endpoint

__all__ = ["DEFAULT_REGION", "KEPT", "Connection", "endpoint_from_env", "forget", "warm_up"]

DEFAULT_REGION = "us-east-1"
#: Connections kept for later loads (the least recently used is closed beyond this many).
KEPT = 8


@dataclass
class Connection:
    """A botocore session with the settings of one load; makes a client per region."""

    session: botocore.session.Session
    endpoint_url: str | None
    signed: bool
    unsigned_reason: str | None
    config: Config
    profile: str | None
    unsigned_fallback: bool
    #: Every request says that the requester pays (see the module docstring).
    requester_pays: bool = False
    clients: dict[str, Any] = field(default_factory=dict)
    #: Clients are thread-safe, but making two from one botocore session at once is not.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: While :meth:`lease` has lent it: its key among the kept connections, and the generation it was lent in.
    _lent: tuple[tuple[Any, ...], int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def lease(cls, options: ConnectOptions, *, pool: int = 10) -> Connection:
        """A connection with these settings for one load, to :meth:`release` when it ends: one kept from an
        earlier load if the credentials' sources are as they were then (see the module docstring), else a new
        one (:meth:`open`). A connection is lent to one load at a time, so that loads running at once (a
        panel's and a cell's, dask's threads) never share a client's pool of sockets, which is sized for one.
        ``pool`` is the most sockets its clients keep open at once (one per request in flight)."""
        key = (*options.connection_key, pool, _sources())
        with _kept.lock:
            kept = _kept.connections.pop(key, None)
            generation = _kept.generation
        leased = kept if kept is not None else cls.open(options, pool=pool)
        leased._lent = (key, generation)
        return leased

    def release(self) -> None:
        """The end of a load that :meth:`lease` lent this connection to: it is kept for the next, unless
        :func:`forget` was called meanwhile or one with the same settings was kept meanwhile."""
        lent, self._lent = self._lent, None
        if lent is None:
            return
        key, generation = lent
        with _kept.lock:
            keep = generation == _kept.generation and key not in _kept.connections
            if keep:
                _kept.connections[key] = self
            evicted = []
            while len(_kept.connections) > KEPT:
                evicted.append(_kept.connections.popitem(last=False)[1])
        for connection in evicted if keep else [self]:
            connection.close()

    @classmethod
    def open(cls, options: ConnectOptions, *, pool: int = 10) -> Connection:
        """A new connection with these settings, its credentials read now."""
        profile, endpoint_url = options.profile, options.endpoint_url
        # A botocore session (boto3's adds nothing we use); the service model comes from one loader shared by
        # all, which keeps botocore's parsed files between processes (client.models).
        session = botocore.session.get_session()
        session.register_component("data_loader", _shared_loader())
        try:
            # Both files are parsed now, once: one that does not parse fails here as ours, not in botocore's
            # first use of it (the region, a client, the credentials).
            session.full_config  # noqa: B018
        except bce.BotoCoreError as exc:
            raise translate(exc, profile=profile) from exc
        if profile:
            available = sorted(session.available_profiles)
            if profile not in available:
                raise S3AuthError(
                    f"the AWS profile {profile!r} is not configured",
                    code="ProfileNotFound",
                    hints={"profile": profile, "available": available},
                )
            session.set_config_variable("profile", profile)
        signed, reason = True, None
        if options.anon:
            signed, reason = False, "anonymous access was asked for"
        else:
            try:
                credentials = session.get_credentials()
            except bce.BotoCoreError as exc:
                raise translate(exc, profile=profile) from exc
            if credentials is None:
                if not options.unsigned_fallback:
                    raise S3AuthError(
                        "no AWS credentials were found",
                        code="NoCredentials",
                        hints={"profile": profile, "unsigned_tried": False},
                    )
                signed, reason = False, "no credentials were found"
        config = Config(
            # One layer of retries: ours. botocore's would multiply with it.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            signature_version=None if signed else UNSIGNED,
            s3={"addressing_style": "path"} if endpoint_url else {},
            user_agent_extra="dreambolt_magic",
            # One connection per part in flight, and one for the main stream.
            max_pool_connections=pool,
        )
        return cls(session, endpoint_url, signed, reason, config, profile, options.unsigned_fallback,
                   options.requester_pays)

    def client(self, region: str) -> Any:
        with self.lock:
            client = self.clients.get(region)
            if client is None:
                with _making_client, _collector_paused():
                    client = self.session.create_client(
                        "s3", region_name=region, endpoint_url=self.endpoint_url, config=self.config
                    )
                # botocore follows a region redirect silently and never says where it went; we follow it
                # ourselves, so the region we report is the region we used.
                client.meta.events.register("before-call.s3", _no_botocore_redirect)
                # Before the endpoint is resolved, so that nothing is sent and botocore's own errors are not met.
                client.meta.events.register("before-parameter-build.s3",
                                            partial(refuse_unsendable, self.endpoint_url, self.signed))
                if self.requester_pays:
                    client.meta.events.register("before-call.s3", _requester_pays)
                track_requests(client)  # so that an interrupt can shut a request's socket down (client.inflight)
                self.clients[region] = client
            return client

    @property
    def default_region(self) -> str:
        return self.session.get_config_variable("region") or DEFAULT_REGION

    def close(self) -> None:
        """Close the clients' connections (a load still using one opens another)."""
        with self.lock:
            for client in self.clients.values():
                client.close()


class _Kept:
    """The connections kept between loads (:meth:`Connection.lease`), least recently used first."""

    lock: threading.Lock
    connections: OrderedDict[tuple[Any, ...], Connection]
    #: Counts :func:`forget` calls: a connection lent before one is not kept when it comes back.
    generation: int

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start empty, without closing anything: in a forked child (a dask or multiprocessing worker), whose
        kept sockets are its parent's too, and whose lock another thread may have held at the fork."""
        self.lock = threading.Lock()
        self.connections = OrderedDict()
        self.generation = 0


_kept = _Kept()
if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_kept.reset)


def forget() -> None:
    """Close the kept connections and forget them: the next load reads the credentials afresh."""
    with _kept.lock:
        kept, _kept.connections = list(_kept.connections.values()), OrderedDict()
        _kept.generation += 1
    for connection in kept:
        connection.close()


def _sources() -> str:
    """A digest of what botocore reads credentials and config from: the ``AWS_*`` environment variables, and
    the config and credentials files' sizes and times. Only the digest is kept, never the values."""
    digest = hashlib.sha256()
    for name, value in sorted(os.environ.items()):
        if name.startswith("AWS_"):
            digest.update(f"{name}={value}\0".encode())
    for _, path in config_files.paths():
        try:
            found = os.stat(path)
            digest.update(f"{path}:{found.st_size}:{found.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{path}:absent\0".encode())
    return digest.hexdigest()


#: Held while a client is made. The first parses the S3 model and endpoint rules into the shared loader;
#: a load whose first client would start while the extension's warm-up is making one waits for it, then
#: finds them parsed, instead of parsing them a second time beside it.
_making_client = threading.Lock()


def _new_lock_after_fork() -> None:
    global _making_client
    _making_client = threading.Lock()  # another thread of the parent may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


_loader: list[ModelLoader] = []


def _shared_loader() -> ModelLoader:
    """One botocore data loader for the process: it holds the S3 service model once read. Made under
    the lock, so that two threads' first connections (the warm-up's, a load's) share one."""
    with _making_client:
        if not _loader:
            _loader.append(ModelLoader())
        return _loader[0]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector off (if it is on) through a burst of allocation that is all kept.

    A process's first client parses botocore's S3 model and endpoint rules into some 100,000 dicts and lists,
    which the shared loader keeps. Meanwhile the collector runs dozens of times, once over the whole heap (a
    notebook's, with pandas and pyarrow imported): 55 of the first client's 110 ms here. Paused, it catches up
    later, on a heap where those are already old.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _no_botocore_redirect(context: dict[str, Any], **_: Any) -> None:
    # Both flags botocore's redirectors read: "already redirected, do not redirect again".
    context["s3_redirected"] = True
    context.setdefault("s3_redirect", {})["redirected"] = True


def _requester_pays(params: dict[str, Any], **_: Any) -> None:
    # The serialized request, before it is signed (so the header is signed too): every operation alike.
    params["headers"]["x-amz-request-payer"] = "requester"


def endpoint_from_env() -> str | None:
    """The endpoint AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL names, if any (without a ``user:password@``)."""
    # botocore would read these itself, but we need the endpoint to key the region cache and to report it.
    return public_endpoint(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None)


def warm_up() -> None:
    """Do a process's once-only work now: parse the S3 service model and endpoint rules into the shared
    loader (~0.1 s), and import what the first load would (the bar's tqdm).

    Sends nothing: a client is made, never called. The extension runs this on a thread when it is loaded, so
    the first ``%%s3ingest`` of a notebook starts as fast as the next ones.
    """
    import tqdm.auto  # noqa: F401

    connection = Connection.open(ConnectOptions(anon=True, unsigned_fallback=False, connect_timeout=1.0,
                                                read_timeout=1.0))
    connection.client(DEFAULT_REGION).close()
