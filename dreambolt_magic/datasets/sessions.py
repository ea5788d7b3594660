"""A connection and the retry policy its calls go through the funnel with: what browsing, peeking and
completion share.

:meth:`Session.open` makes a new connection; :meth:`Session.lent` borrows one kept from an earlier load or
listing with the same settings (:meth:`~dreambolt_magic.client.connection.Connection.lease`) and gives it back
afterwards, for a caller that lists often and should pay for credentials and a TLS handshake once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from dreambolt_magic.client.calls import bucket_region, call
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.options import ConnectOptions

__all__ = ["Session"]

T = TypeVar("T")


@dataclass
class Session:
    """A connection and the retry policy its calls go through the funnel with."""

    conn: Connection
    policy: RetryPolicy

    @classmethod
    def open(cls, options: ConnectOptions) -> Session:
        """A new connection with these settings (at ``AWS_ENDPOINT_URL_S3``'s endpoint if none is given)."""
        options = options.at(options.endpoint_url or endpoint_from_env())
        return cls(Connection.open(options), RetryPolicy(max_attempts=options.max_attempts))

    @classmethod
    @contextmanager
    def lent(cls, options: ConnectOptions) -> Iterator[Session]:
        """Within, a session on a connection kept from an earlier load or listing with these settings (else a
        new one), kept again for the next when the block ends."""
        options = options.at(options.endpoint_url or endpoint_from_env())
        conn = Connection.lease(options)
        try:
            yield cls(conn, RetryPolicy(max_attempts=options.max_attempts))
        finally:
            conn.release()

    @classmethod
    def of(cls, *, endpoint_url: str | None, profile: str | None, anon: bool, **options: Any) -> Session:
        """:meth:`open` from the browsing functions' keywords (``unsigned_fallback``, ``max_attempts``,
        ``connect_timeout``, ``read_timeout``, ``requester_pays``; any other is a TypeError)."""
        unknown = set(options) - {"unsigned_fallback", "max_attempts", "connect_timeout", "read_timeout",
                                  "requester_pays"}
        if unknown:
            raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
        return cls.open(ConnectOptions.of(endpoint_url=endpoint_url, profile=profile, anon=anon, **options))

    def call(self, operation: str, *, region: str, read: Callable[[Any], T] | None = None, **params: Any) -> Any:
        """One request through the funnel (a redirect for ``params["Bucket"]`` followed, as a load does)."""
        return call(self.conn, operation, region=region, policy=self.policy, read=read, **params)

    def region_of(self, bucket: str, region: str | None) -> str:
        return region or bucket_region(self.conn, bucket, self.policy)
