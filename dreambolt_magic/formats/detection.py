"""Which format an object is: from ``format=``, else the key's extension, else its first bytes; and its
compression, from the extension, else (only for keys whose name says nothing) the magic bytes. Before a
reader parses, :func:`check_bytes` makes sure the bytes are what the name claims, so a mislabelled object
is reported as what it is rather than as a puzzling parser error. No I/O.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Callable
from types import EllipsisType
from typing import Any

from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats.compression import Guard, errors, expand

__all__ = [
    "ALIASES",
    "COMPRESSIONS",
    "DECODERS",
    "EXTENSIONS",
    "FORMATS",
    "HEAD_BYTES",
    "KINDS",
    "TEXT_KINDS",
    "check_bytes",
    "compression_of",
    "compression_option",
    "decompress",
    "detect",
    "format_error",
    "format_of",
    "is_json_lines",
    "looks_like",
    "named",
    "normalize_format",
    "sniff",
    "text_start",
]

#: Enough of an object to tell its format; the loader may fetch this much first.
HEAD_BYTES = 64 * 1024

EXTENSIONS: dict[str, str] = {
    **dict.fromkeys((".parquet", ".pq", ".parq"), "parquet"),
    ".csv": "csv",
    **dict.fromkeys((".tsv", ".tab"), "tsv"),
    ".json": "json",
    **dict.fromkeys((".jsonl", ".ndjson"), "jsonl"),
    **dict.fromkeys((".feather", ".arrow", ".ipc"), "feather"),
    ".orc": "orc",
    **dict.fromkeys((".xlsx", ".xlsm"), "xlsx"),
    ".zip": "zip",
}
ALIASES: dict[str, str] = {"ndjson": "jsonl", "arrow": "feather", "ipc": "feather", "pq": "parquet",
                           "excel": "xlsx"}
COMPRESSIONS: tuple[str, ...] = ("gzip", "bz2", "xz", "zstd")
_COMPRESSION_EXTENSIONS = {
    **dict.fromkeys((".gz", ".gzip"), "gzip"),
    ".bz2": "bz2",
    ".xz": "xz",
    **dict.fromkeys((".zst", ".zstd"), "zstd"),
}
# "BZh" alone could open a line of CSV, so bz2 also needs the block (or end-of-stream) magic after it.
FORMATS: tuple[str, ...] = ("parquet", "csv", "tsv", "json", "jsonl", "feather", "orc", "xlsx", "zip")

_COMPRESSION_MAGIC = {
    "gzip": re.compile(rb"\x1f\x8b"),
    "bz2": re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"),
    "xz": re.compile(rb"\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\x28\xb5\x2f\xfd"),
}
# Bytes that text (even in a legacy encoding) does not hold, but a binary header soon does.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A ZIP local file header (30 bytes, then the name) of a workbook's member.
_WORKBOOK_MEMBER = re.compile(rb"PK\x03\x04.{26}(?:\[Content_Types\]\.xml|xl/)", re.DOTALL)

#: What first bytes can look like, in words: the end of "its first bytes look like ...".
KINDS = {
    **{name: f"{name}-compressed data" for name in COMPRESSIONS},
    "parquet": "Parquet",
    "feather": "Arrow IPC (Feather)",
    "orc": "ORC",
    "xlsx": "an Excel workbook (xlsx)",
    "csv": "CSV text",
    "tsv": "tab-separated text",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "zip": "a ZIP archive",
    "html": "HTML (an error page?)",
    "s3error": "an S3 error document (XML)",
    "xml": "XML",
    "binary": "binary data",
    "text": "text of no known format",
    "empty": "nothing (only whitespace)",
}
TEXT_KINDS = ("csv", "tsv", "json", "jsonl", "text")


def format_error(key: str, code: str, message: str, **context: Any) -> S3FormatError:
    """An error about the object at ``key``; its message starts by naming the object."""
    return S3FormatError(f"{key or 'the object'} {message}", key=key, code=code, **context)


def text_start(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def is_json_lines(text: bytes) -> bool:
    # In one JSON document a "}" is followed by "," or "}", never "{": so a line "{...}" followed by a
    # line opening with "{" means one object per line.
    lines = [line for line in (raw.strip() for raw in text.splitlines()) if line][:2]
    return len(lines) == 2 and lines[0][:1] + lines[0][-1:] == b"{}" and lines[1].startswith(b"{")


def sniff(head: bytes) -> str:
    """What the first bytes (of an object, or of its decompressed content) look like: a KINDS key."""
    compression = next((name for name, magic in _COMPRESSION_MAGIC.items() if magic.match(head)), None)
    text = text_start(head)
    lowered, line = text[:1024].lower(), text.split(b"\n", 1)[0]
    checks = [
        (compression is not None, str(compression)),
        (head.startswith(b"PAR1"), "parquet"),
        # An Arrow IPC file opens with ARROW1, a stream with the 0xFFFFFFFF continuation marker.
        (head.startswith((b"ARROW1", b"\xff\xff\xff\xff")), "feather"),
        # A CSV whose first column is ORCID starts with ORC too; an ORC file's protobuf is not text.
        (head.startswith(b"ORC") and _CONTROL.search(head, 3, 4096) is not None, "orc"),
        # An xlsx is a ZIP whose members are [Content_Types].xml and xl/...: seen here if their local
        # headers are in the head (the ZIP reader looks at the whole list of members anyway).
        (head.startswith(b"PK\x03\x04") and _WORKBOOK_MEMBER.search(head) is not None, "xlsx"),
        # A ZIP starts with a member's local header, or is empty: only the end of its central directory.
        (head.startswith((b"PK\x03\x04", b"PK\x05\x06")), "zip"),
        (b"\x00" in head[:4096], "binary"),
        (not text, "empty"),
        (lowered.startswith((b"<!doctype html", b"<html")), "html"),
        (lowered.startswith(b"<") and b"<error>" in lowered, "s3error"),
        (lowered.startswith(b"<"), "xml"),
        (text.startswith(b"["), "json"),
        (text.startswith(b"{"), "{"),  # JSON or JSON Lines: told apart below, only then
        (b"\t" in line, "tsv"),
        (b"," in line, "csv"),
    ]
    kind = next((kind for matched, kind in checks if matched), "text")
    if kind == "{":
        return "jsonl" if is_json_lines(text) else "json"
    return kind


def named(key: str, format: str | None = None) -> tuple[str | None, str | None]:
    """The ``(format, compression)`` a key's name gives, e.g. ``("csv", "gzip")`` for ``a.csv.gz``; a
    ``format=`` value, if given, is the format instead (checked by :func:`normalize_format`)."""
    suffixes = ["." + part for part in key.rsplit("/", 1)[-1].lower().split(".")[1:]]
    compression = _COMPRESSION_EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes.pop()
    if format is not None:
        return normalize_format(format, key=key), compression
    return (EXTENSIONS.get(suffixes[-1]) if suffixes else None), compression


def compression_of(key: str, head: bytes) -> str | None:
    named_format, named_compression = named(key)
    if named_format or named_compression:
        return named_compression
    kind = sniff(head)
    return kind if kind in COMPRESSIONS else None


def compression_option(value: object, key: str) -> str | None | EllipsisType:
    """What an explicit ``compression=`` (pandas' parser option, or :func:`read`'s own) names, as :func:`read`
    takes it: one of :data:`COMPRESSIONS`, decompressed here a step at a time under the memory guard; ``None``,
    not compressed; ``...`` (``"infer"``, or none given), told by the name or the first bytes. pandas would
    decompress it by itself, where nothing counts what it expands into: the rest is refused (``CompressionOption``).
    """
    if value is ... or value == "infer":
        return ...
    if value is None or value in COMPRESSIONS:
        return value
    if isinstance(value, dict):
        extra = sorted(map(str, set(value) - {"method"}))
        if extra or "method" not in value:
            why = (f"sets {', '.join(map(repr, extra))}, options of pandas' own decompressor" if extra else
                   "is a dict without a 'method'")
            raise _compression_refused(key, f"is read with a compression= that {why}; the loader decompresses "
                                       "the object itself and takes only the method", value)
        return compression_option(value["method"], key)
    if value == "zip":
        why = "a ZIP archive, which format='zip' (--format zip) reads (its one data file)"
    elif value == "tar":
        why = "a tar archive, which dreambolt_magic does not read"
    else:
        why = f"none the loader decompresses ({', '.join(COMPRESSIONS)})"
    raise _compression_refused(key, f"is read with compression={value!r}: {why}", value)


def _compression_refused(key: str, message: str, value: object) -> S3FormatError:
    return format_error(key, "CompressionOption", message, hints={"compression": repr(value)})


def normalize_format(format: str, *, key: str = "") -> str:
    """The format name for a ``format=`` value: any case, a leading dot and the :data:`ALIASES` allowed.

    Raises :class:`S3FormatError` with code ``UnsupportedFormat``, listing the supported formats, so a
    caller can refuse a bad value before downloading anything.
    """
    name = format.strip().lower().lstrip(".")
    name = ALIASES.get(name, name)
    if name not in FORMATS:
        raise S3FormatError(
            f"format {format!r} is not supported; use one of {', '.join(FORMATS)} (or {', '.join(ALIASES)})",
            key=key,
            code="UnsupportedFormat",
            hints={"supported": list(FORMATS), "aliases": dict(ALIASES)},
        )
    return name


def format_of(key: str, plain_head: bytes, format: str | None, compression: str | None) -> str:
    """The format from ``format=``, else the name, else the (decompressed) first bytes."""
    fmt = named(key, format)[0]
    kind = fmt or sniff(plain_head)
    if kind in FORMATS:
        return kind
    # bz2 blocks are ~900 kB and zstd ones up to 128 kB, so a head may decompress to nothing yet.
    looks_like = f"{compression}-compressed data" if compression and not plain_head else KINDS[kind]
    raise format_error(
        key,
        "UnknownFormat",
        # How to name it (--format, the panel's Format menu, format=) is the remedy's to say, in the words of
        # the front end that shows it.
        f"has no known format extension ({' '.join(EXTENSIONS)}) and its first bytes look like {looks_like}; "
        f"name its format, one of {', '.join(FORMATS)}",
        hints={"supported": list(FORMATS), "extensions": list(EXTENSIONS), "looks_like": looks_like},
    )


#: Incremental decoders, for what a cut-off start of a compressed object holds (pyarrow has none for zstd).
DECODERS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}


def _head_of(compression: str | None, head: bytes) -> bytes:
    """As much of the decompressed start of ``head`` as it holds (it is itself a cut-off start)."""
    try:
        if compression == "zstd":
            # pyarrow has no incremental zstd decoder: this fails if no whole block fits in the head.
            import pyarrow as pa

            return pa.input_stream(pa.py_buffer(head), compression="zstd").read(HEAD_BYTES)
        return DECODERS[compression]().decompress(head, HEAD_BYTES) if compression else head
    except errors():
        # Nothing to see yet; read() decompresses the whole object and reports real corruption.
        return b""


def detect(key: str, head: bytes, *, format: str | None = None) -> tuple[str, str | None]:
    """The ``(format, compression)`` of an object, from ``format=``, the key's extension or ``head``.

    ``head`` is the start of the object (up to :data:`HEAD_BYTES`). When the key has a known extension,
    the name alone decides the compression (:func:`read` then checks the bytes agree); only for names
    that say nothing are the magic bytes trusted. Raises :class:`S3FormatError` with code
    ``UnsupportedFormat`` for an unknown ``format=``, or ``UnknownFormat`` when nothing tells.
    """
    compression = compression_of(key, head)
    if format is None and named(key)[0] is None:
        head = _head_of(compression, head)
    return format_of(key, head, format, compression), compression


def _mismatch(key: str, what: str, head: bytes, code: str = "FormatMismatch") -> S3FormatError:
    looks_like = KINDS[sniff(head)]
    return format_error(key, code, f"{what}; its first bytes look like {looks_like}", hints={"looks_like": looks_like})


def decompress(compression: str, data: memoryview, key: str, guard: Guard | None = None) -> memoryview:
    """``data`` decompressed, a step at a time: ``guard`` (the memory guard's) sees the bytes produced so far
    and stops a decompression bomb before it has expanded (see :mod:`~dreambolt_magic.formats.compression`)."""
    head = bytes(data[:HEAD_BYTES])
    if not _COMPRESSION_MAGIC[compression].match(head):
        raise _mismatch(key, f"is named as {compression}-compressed but is not", head, code="BadCompression")
    try:
        return memoryview(expand(compression, data, guard=guard))
    except errors() as exc:
        message = f"does not decompress as {compression}: it is corrupt or truncated"
        raise format_error(key, "BadCompression", message, detail=str(exc)) from exc


def check_bytes(fmt: str, data: memoryview, key: str, trust_text: bool) -> None:
    """Refuse bytes that are plainly not ``fmt``, saying what they look like instead."""
    head = bytes(data[:HEAD_BYTES])
    kind = sniff(head)
    if fmt == "parquet" and kind == "parquet" and bytes(data[-4:]) != b"PAR1":
        message = "starts like Parquet but does not end with PAR1, so it is truncated (a partial upload?)"
        raise format_error(key, "ParseError", message)
    if fmt == "parquet" and kind != "parquet":
        raise _mismatch(key, "does not start with the Parquet magic bytes PAR1", head)
    if fmt == "feather" and kind != "feather":
        raise _mismatch(key, "does not start with the Arrow IPC magic bytes (ARROW1)", head)
    if fmt in ("xlsx", "zip") and kind not in ("xlsx", "zip"):
        raise _mismatch(key, f"does not start with the ZIP magic bytes PK that {KINDS[fmt]} has", head)
    if fmt == "orc" and kind != "orc":
        raise _mismatch(key, "does not start with the ORC magic bytes ORC", head)
    if fmt == "orc" and not _orc_ends(data):
        message = "starts like ORC but does not end with its postscript, so it is truncated (a partial upload?)"
        raise format_error(key, "ParseError", message)
    # Text in an explicit encoding (UTF-16, say) can look binary here; pandas will tell if it is not.
    allowed = ("json", "jsonl") if fmt in ("json", "jsonl") else TEXT_KINDS
    if fmt in TEXT_KINDS and kind not in allowed and not trust_text:
        raise _mismatch(key, f"does not look like {KINDS[fmt]}", head)


def _orc_ends(data: memoryview) -> bool:
    # An ORC file ends with its postscript, whose length is the last byte and which holds the magic ORC.
    length = data[-1]
    return 0 < length < len(data) - 3 and b"ORC" in bytes(data[-1 - length : -1])


def looks_like(fmt: str, head: bytes, *, key: str, trust_text: bool = False) -> bool:
    """Whether an uncompressed object whose start is ``head`` passes the checks :func:`read` makes before
    parsing it as ``fmt`` (so a parse of it may start before the rest has arrived)."""
    try:
        if sniff(head) == "empty":
            return False
        check_bytes(fmt, memoryview(head), key, trust_text)
    except S3FormatError:
        return False
    return True
