"""A local, size-limited cache of S3 objects' bytes, so that a cell run again downloads nothing.

One file per object, named by a hash of the endpoint, bucket, key and version id (if the URI names one);
the file holds a small JSON header (where the bytes came from, their ETag, version id and CRC32) and then
the object's bytes, exactly as downloaded. The loader asks S3 for the object's current ETag (one HEAD, or,
for an object of a listed set, the listing's ETag) and uses the entry only if it matches; a changed object
is fetched again and its entry replaced.

- A matching ETag does not make the bytes right: a download damaged on the way, or a file changed on disk,
  keeps it. So every hit compares the bytes with the CRC32 in the header (about 2 GB/s, one pass over the
  mapped file) and a mismatch drops the entry: the load fetches the object again. The CRC32 is the one S3
  stores for the object where it has one (so it says what the object is, not what we happened to write),
  else ours, of the bytes as written. Before writing, bytes that the transfer has not already checked
  against the object's stored checksum are checked here: damaged ones are not kept. An entry without a
  CRC32 (written before there was one) is dropped as a miss, and rewritten by the load.

- Files are written to a temporary name and renamed into place, so a reader never sees half an entry
  and two kernels writing the same entry leave one whole one.
- The directory is made with mode 0700 and the files with 0600 (``mkstemp``): the bytes are the user's
  data, and anyone who can write in the directory decides what a load returns. An existing directory
  open to others is tightened to 0700; one we cannot make private (another user's) is refused with
  :class:`~dreambolt_magic.errors.S3CacheError`, and an entry file another user owns is never served.
  Credentials are never stored: the header holds the endpoint (without any user:password part), bucket,
  key, ETag, version id, size, CRC32 and dates, nothing else.
- Least recently used entries are evicted once the total passes ``max_bytes``; a hit sets the file's
  modification time to now, and that is the order of use. An object larger than ``max_bytes`` is not kept.
- A hit is read through ``mmap``: the parser gets a memoryview of the mapped file, with no copy.

Apart from that refusal the cache never fails a load: an entry that cannot be read is a miss, one that
cannot be written is skipped (with a warning in the ``dreambolt_magic`` log).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
import stat
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreambolt_magic.errors import S3CacheError
from dreambolt_magic.folders import cache_home
from dreambolt_magic.options import CACHE_MAX_BYTES
from dreambolt_magic.transfer.checksums import digest
from dreambolt_magic.uri import public_endpoint

__all__ = ["DEFAULT_MAX_BYTES", "Cache", "Entry", "default_directory", "open_cache"]

log = logging.getLogger("dreambolt_magic")

#: The size limit of a cache made without one (:data:`dreambolt_magic.options.CACHE_MAX_BYTES`).
DEFAULT_MAX_BYTES = CACHE_MAX_BYTES
#: The first bytes of every entry file, then the header's length (4 bytes, big-endian), header, data.
_MAGIC = b"DBMCACHE1\n"
_LENGTH = struct.Struct(">I")
_SUFFIX = ".s3c"
_TEMP_PREFIX = ".tmp-"
#: What a hit is checked with, in the names of :mod:`dreambolt_magic.transfer.checksums`: the fastest of them.
_CHECK = "ChecksumCRC32"


def default_directory() -> Path:
    """``$XDG_CACHE_HOME/dreambolt_magic``, else ``~/.cache/dreambolt_magic`` (read when called)."""
    return cache_home()


@dataclass(frozen=True)
class Entry:
    """One cached object, as its header describes it."""

    path: Path
    uri: str
    endpoint: str | None
    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    size: int
    last_modified: str | None
    stored: float
    used: float

    def head(self) -> dict[str, Any]:
        """What a HEAD of the object would say, as far as the entry knows: its ETag, version and date."""
        return {"ETag": self.etag, "VersionId": self.version_id, "LastModified": self.last_modified}


class Cache:
    """The cache in ``directory``, holding at most ``max_bytes`` of object bytes."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a whole number of bytes of at least 1, not {max_bytes!r}")
        self.directory = Path(directory).expanduser() if directory is not None else default_directory()
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"Cache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    # --- lookups and stores ---------------------------------------------------------------------------

    def path_for(self, endpoint: str | None, bucket: str, key: str, version_id: str | None = None) -> Path:
        """The entry file of one object (of one version, if the URI names one)."""
        name = json.dumps([public_endpoint(endpoint) or None, bucket, key, version_id or ""])
        return self.directory / (hashlib.sha256(name.encode()).hexdigest() + _SUFFIX)

    def has(self, endpoint: str | None, bucket: str, key: str, version_id: str | None = None) -> bool:
        """Whether an entry exists for the object at all (of any ETag)."""
        return self.path_for(endpoint, bucket, key, version_id).is_file()

    def get(
        self, endpoint: str | None, bucket: str, key: str, version_id: str | None, *, etag: str | None
    ) -> memoryview | None:
        """The cached bytes if the entry's ETag is ``etag`` and its bytes match its CRC32, else ``None``;
        marks it used. A damaged entry is dropped. Raises S3CacheError for a directory others can write in."""
        if not etag:
            return None
        self.check_directory()
        path = self.path_for(endpoint, bucket, key, version_id)
        try:
            with open(path, "rb") as file:
                header, offset = _read_header(file)
                if header.get("etag") != etag or header.get("bucket") != bucket or header.get("key") != key:
                    return None  # another object now: the load's store replaces it
                size = int(header["size"])
                found = os.fstat(file.fileno())
                check = header.get("checksum")
                if (found.st_size != offset + size or not _owned(found) or not isinstance(check, list)
                        or check[:1] != [_CHECK]):
                    self._drop(path, found, bucket, key, "cut short, another user's, or without a CRC32")
                    return None
                mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else None
                data = memoryview(mapped)[offset:] if mapped is not None else memoryview(b"")
                if digest(_CHECK, data) != check[1]:
                    data.release()
                    if mapped is not None:
                        mapped.close()
                    self._drop(path, found, bucket, key, "its bytes do not match its CRC32")
                    return None
            now = time.time()
            os.utime(path, (now, now))  # the order of use, for eviction
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None
        return data

    def put(
        self,
        endpoint: str | None,
        bucket: str,
        key: str,
        version_id: str | None,
        data: bytes | bytearray | memoryview,
        *,
        etag: str | None,
        object_version: str | None = None,
        last_modified: str | None = None,
        checksum: tuple[str, str] | None = None,
        verified: bool = False,
    ) -> bool:
        """Store ``data`` as the object's entry (replacing any other), then evict down to ``max_bytes``.

        ``version_id`` is the one the URI named (it is part of the entry's name); ``object_version`` the
        version S3 reported. ``checksum`` is the object's stored checksum (``(field, base64 value)``, see
        :func:`~dreambolt_magic.transfer.checksums.stored_checksum`), and ``verified`` whether the bytes were already
        compared with it; bytes that do not match it are not stored. Returns whether it was stored: not
        without an ETag, nor when larger than the whole cache, nor when damaged, nor when the directory
        cannot be written.
        """
        size = len(data)
        if not etag or size > self.max_bytes:
            return False
        view = memoryview(data)
        if checksum is not None and not verified and digest(checksum[0], view) != checksum[1]:
            log.warning("s3://%s/%s was not cached: its bytes do not match the checksum S3 stores for it",
                        bucket, key)
            return False
        # S3's own CRC32 is taken as it is: the bytes were just compared with it, by the transfer or above.
        crc = checksum[1] if checksum is not None and checksum[0] == _CHECK else digest(_CHECK, view)
        header = {
            "uri": f"s3://{bucket}/{key}",
            "endpoint": public_endpoint(endpoint) or None,
            "bucket": bucket,
            "key": key,
            "etag": etag,
            "version_id": object_version or version_id,
            "size": size,
            "checksum": [_CHECK, crc],
            "last_modified": last_modified,
            "stored": time.time(),
        }
        path = self.path_for(endpoint, bucket, key, version_id)
        try:
            self._ensure_directory()
            encoded = json.dumps(header).encode()
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.directory)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(_MAGIC + _LENGTH.pack(len(encoded)) + encoded)
                    file.write(view)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            log.warning("could not store s3://%s/%s in the cache at %s: %s", bucket, key, self.directory, exc)
            return False
        self.evict(keep=path)
        return True

    def _drop(self, path: Path, found: os.stat_result, bucket: str, key: str, why: str) -> None:
        log.warning("dropped the cache entry of s3://%s/%s (%s): fetching it again", bucket, key, why)
        with contextlib.suppress(OSError):
            now = os.stat(path)
            # Another kernel may have just put a good entry in its place: that one stays.
            if (now.st_ino, now.st_dev) == (found.st_ino, found.st_dev):
                os.unlink(path)

    # --- housekeeping ---------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every whole entry, most recently used first."""
        found = [entry for entry in map(_entry, self._files()) if entry is not None]
        return sorted(found, key=lambda e: e.used, reverse=True)

    def entry(self, endpoint: str | None, bucket: str, key: str, version_id: str | None = None) -> Entry | None:
        """The entry of one object, as its header describes it (``None`` if there is none, or it is unreadable)."""
        return _entry(self.path_for(endpoint, bucket, key, version_id))

    def size(self) -> int:
        """Bytes the entries' files take (headers included)."""
        total = 0
        for path in self._files():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    def evict(self, keep: Path | None = None) -> int:
        """Remove least recently used entries until the total is within ``max_bytes``; returns how many."""
        files = []
        for path in self._files():
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            total -= size
        return removed

    def clear(self) -> int:
        """Remove every entry (and any temporary file a crashed write left); returns how many entries."""
        removed = 0
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        if self.directory.is_dir():
            for temp in self.directory.glob(_TEMP_PREFIX + "*"):
                with contextlib.suppress(OSError):
                    temp.unlink()
        return removed

    def _files(self) -> Iterator[Path]:
        if not self.directory.is_dir():
            return iter(())
        return (p for p in self.directory.iterdir() if p.name.endswith(_SUFFIX) and not p.name.startswith("."))

    def check_directory(self) -> None:
        """If the directory exists and others may write in it, tighten it to 0700.

        Raises :class:`~dreambolt_magic.errors.S3CacheError` for one that cannot be: another user's, or one
        whose mode we cannot change.
        """
        try:
            found = os.stat(self.directory)
        except OSError:
            return  # missing (made on the first store), or out of reach (the store will say why)
        if not stat.S_ISDIR(found.st_mode) or not hasattr(os, "geteuid"):
            return  # a file there fails the store; Windows guards with ACLs, not mode bits
        mode = stat.S_IMODE(found.st_mode)
        if found.st_uid != os.geteuid():
            problem = f"belongs to another user (uid {found.st_uid}, mode {mode:o})"
        elif mode & 0o077:
            try:
                os.chmod(self.directory, 0o700)
                return
            except OSError as exc:
                problem = f"is open to other users (mode {mode:o}) and could not be made private ({exc})"
        else:
            return
        raise S3CacheError(
            f"the cache directory {self.directory} {problem}: whoever can write there decides what a cached "
            f"load returns. Run chmod 700 {self.directory} as its owner, or use a directory of your own",
            code="CacheNotPrivate", hints={"directory": str(self.directory), "problem": problem},
        )

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.check_directory()  # tightens what mkdir made under the umask, or what was there already


def open_cache(spec: Any, *, max_bytes: int | None = None) -> Cache | None:
    """The cache ``load(cache=...)`` asks for: ``None``/``False`` none, ``True`` the default directory,
    a path that directory, or a :class:`Cache` as it is."""
    if spec is None or spec is False:
        return None
    if isinstance(spec, Cache):
        return spec
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if spec is True:
        return Cache(max_bytes=limit)
    if isinstance(spec, (str, os.PathLike)):
        return Cache(spec, max_bytes=limit)
    raise TypeError(f"cache must be True, False, None, a directory or a Cache, not {spec!r}")


def _owned(found: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or found.st_uid == os.geteuid()


def _entry(path: Path) -> Entry | None:
    try:
        with open(path, "rb") as file:
            header, _ = _read_header(file)
            used = os.fstat(file.fileno()).st_mtime
        return Entry(
            path=path, uri=header["uri"], endpoint=header.get("endpoint"), bucket=header["bucket"],
            key=header["key"], etag=header.get("etag"), version_id=header.get("version_id"),
            size=int(header["size"]), last_modified=header.get("last_modified"),
            stored=float(header.get("stored") or 0.0), used=used,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_header(file: Any) -> tuple[dict[str, Any], int]:
    start = file.read(len(_MAGIC) + _LENGTH.size)
    if len(start) != len(_MAGIC) + _LENGTH.size or not start.startswith(_MAGIC):
        raise ValueError("not a cache entry")
    (length,) = _LENGTH.unpack(start[len(_MAGIC):])
    header = json.loads(file.read(length))
    if not isinstance(header, dict):
        raise ValueError("not a cache entry")
    return header, len(start) + length
