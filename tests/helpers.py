"""Sample frames and their bytes in every format and compression the loader reads; no I/O.

``to_bytes(make_frame(100), "csv", "gzip")`` is what an object ``data.csv.gz`` would hold. The encoders
here use pandas, pyarrow and the standard library directly, never the loader, so a test compares the
loader against an independent writer.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import threading
import traceback
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

import botocore.session
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.orc
import pytest
from botocore.config import Config

import dreambolt_magic

#: Formats :func:`to_bytes` writes, and the file extension of each.
FORMATS: dict[str, str] = {
    "parquet": ".parquet",
    "csv": ".csv",
    "tsv": ".tsv",
    "json": ".json",
    "jsonl": ".jsonl",
    "feather": ".feather",
    "orc": ".orc",
    "xlsx": ".xlsx",
    "zip": ".zip",
}
#: Whole-object compressions :func:`compress` applies, and the extension each adds.
COMPRESSIONS: dict[str, str] = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}


def make_frame(n: int = 100, *, seed: int = 0, with_timestamps: bool = False) -> pd.DataFrame:
    """A frame of ``n`` rows: ``id`` (int64), ``city`` (str), ``value`` (float64), ``flag`` (bool).

    The values survive a round trip through every format in :data:`FORMATS` (floats have two
    decimals, strings are plain ASCII). ``with_timestamps`` adds ``ts`` (datetime64[us]), which text
    formats give back as strings unless the reader parses dates.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "city": rng.choice(["Berlin", "Lagos", "Lima", "Osaka", "Perth"], n),
            "value": np.round(rng.normal(100, 25, n), 2),
            "flag": rng.random(n) < 0.5,
        }
    )
    if with_timestamps:
        df["ts"] = pd.date_range("2024-01-01", periods=n, freq="min").astype("datetime64[us]")
    return df


def to_bytes(df: pd.DataFrame, format: str, compression: str | None = None) -> bytes:
    """``df`` encoded as ``format`` (a key of :data:`FORMATS`), then compressed whole if asked."""
    buf = io.BytesIO()
    if format == "parquet":
        df.to_parquet(buf, index=False)
    elif format == "feather":
        df.reset_index(drop=True).to_feather(buf)
    elif format == "orc":
        pyarrow.orc.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    elif format == "xlsx":
        df.to_excel(buf, index=False)
    elif format == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("data.csv", to_bytes(df, "csv"))
    elif format in ("csv", "tsv"):
        buf.write(df.to_csv(index=False, sep="\t" if format == "tsv" else ",", lineterminator="\n").encode())
    elif format == "json":
        buf.write(df.to_json(orient="records", date_format="iso").encode())
    elif format == "jsonl":
        buf.write(df.to_json(orient="records", lines=True, date_format="iso").encode())
    else:
        raise ValueError(f"unknown format {format!r}; expected one of {sorted(FORMATS)}")
    return compress(buf.getvalue(), compression)


def compress(data: bytes, compression: str | None) -> bytes:
    """``data`` compressed with ``compression`` (a key of :data:`COMPRESSIONS`), or as is for ``None``."""
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "bz2":
        return bz2.compress(data)
    if compression == "xz":
        return lzma.compress(data)
    if compression == "zstd":
        sink = pa.BufferOutputStream()
        with pa.CompressedOutputStream(sink, "zstd") as stream:
            stream.write(data)
        return bytes(sink.getvalue())
    raise ValueError(f"unknown compression {compression!r}; expected one of {sorted(COMPRESSIONS)}")


def key_for(stem: str, format: str, compression: str | None = None) -> str:
    """The object key a reader would recognise: ``key_for("data", "csv", "gzip") == "data.csv.gz"``."""
    return stem + FORMATS[format] + (COMPRESSIONS[compression] if compression else "")


def renderings(err: BaseException) -> dict[str, str]:
    """Every way an error of ours is shown or kept, by name: where a secret must never be."""
    return {
        "str": str(err),
        "repr": repr(err),
        "HTML": err._repr_html_(),  # type: ignore[attr-defined]
        "text explanation": "\n".join(err._render_traceback_()),  # type: ignore[attr-defined]
        "fields": repr(vars(err)),
        "pickle": repr(pickle.dumps(err)),
        "chained traceback": "".join(traceback.format_exception(err)),
    }


@contextmanager
def every_client_through(server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Serve ``server`` (on 127.0.0.1) on a thread, and send every botocore client made meanwhile through it as
    its proxy, over plain HTTP (``use_ssl=False``: botocore keeps the host and drops only the TLS).

    So a request for an AWS host (an access point's) goes to 127.0.0.1 with that host in its URL, and nothing
    is resolved; were the proxy ignored, the suite's loopback guard would fail the lookup of the host. The
    connections kept from before (made without the proxy) are forgotten first, and those made with it after.
    """
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    make = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        proxied = Config(proxies={"http": url, "https": url})
        kwargs["config"] = kwargs["config"].merge(proxied) if kwargs.get("config") else proxied
        return make(self, *args, **{**kwargs, "use_ssl": False})

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    dreambolt_magic.forget_connections()
    try:
        yield
    finally:
        dreambolt_magic.forget_connections()
        server.shutdown()
        server.server_close()
        thread.join()
