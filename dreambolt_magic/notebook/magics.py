"""The ``%%s3ingest`` magics: a thin front end on :func:`dreambolt_magic.api.load`.

This module owns what a notebook user sees: argument parsing, the summary line, the rich error display
and binding the result to a variable. The loading itself, with its retries, regions and parsing, is the
loader's. Settings are traitlets, so ``%config S3IngestMagics`` lists them and ``ipython_config.py`` can
set them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate

from dreambolt_magic import api, engines
from dreambolt_magic.errors import S3Error
from dreambolt_magic.notebook import arguments
from dreambolt_magic.notebook.arguments import check_arguments, customer_key_from_env, load_arguments, parser_options
from dreambolt_magic.notebook.body import uris_from_body
from dreambolt_magic.notebook.interrupted import LoadInterrupted
from dreambolt_magic.options import CACHE_MAX_BYTES, TRANSFER
from dreambolt_magic.units import human_bytes, plural
from dreambolt_magic.uri import public_endpoint

if TYPE_CHECKING:
    from dreambolt_magic.objects.cache import Cache

__all__ = ["S3IngestMagics"]


@magics_class
class S3IngestMagics(Magics):
    """Load S3 objects into DataFrames. Settings here are the defaults for every ``%%s3ingest``."""

    region = Unicode(
        None, allow_none=True,
        help="Region to sign for. Default: the region in the URL, else the bucket's own (detected).",
    ).tag(config=True)
    profile = Unicode(
        None, allow_none=True, help="AWS profile to take credentials from. Default: the standard chain."
    ).tag(config=True)
    endpoint_url = Unicode(
        None, allow_none=True,
        help="S3-compatible endpoint, e.g. http://127.0.0.1:9000. Default: AWS (or AWS_ENDPOINT_URL_S3). A "
        "user:password@ in it is dropped: S3 requests are signed, and botocore never sends it.",
    ).tag(config=True)
    anon = Bool(False, help="Send unsigned requests (public buckets).").tag(config=True)
    requester_pays = Bool(
        False, help="Say on every request that you pay for it, as Requester Pays buckets demand (your account is "
        "charged for the requests and the bytes). --requester-pays decides for one load.",
    ).tag(config=True)
    max_attempts = Int(5, help="Attempts per request before giving up (backoff with jitter between)."
                       ).tag(config=True)
    progress = Bool(True, help="Show a progress bar while loading.").tag(config=True)
    quiet = Bool(False, help="Do not print the summary line after a load.").tag(config=True)
    unsigned_fallback = Bool(True, help="With no credentials configured at all, try the object unsigned once (it "
                             "may be public).").tag(config=True)
    connect_timeout = Float(5.0, help="Seconds to wait for a connection to S3.").tag(config=True)
    read_timeout = Float(15.0, help="Seconds to wait for data on an open connection.").tag(config=True)
    min_speed = Int(TRANSFER.min_speed, help="Bytes a second a download must bring over half a minute, or it is "
                    "broken off and resumed (0: no floor). --min-speed decides for one load.").tag(config=True)
    cache = Bool(False, help="Keep loaded objects on disk: an unchanged object is not downloaded again (one HEAD "
                 "instead). --cache / --no-cache decide for one load.").tag(config=True)
    cache_dir = Unicode(
        None, allow_none=True,
        help="Directory of the cache (made with mode 0700). Default: $XDG_CACHE_HOME/dreambolt_magic, "
        "else ~/.cache/dreambolt_magic.",
    ).tag(config=True)
    cache_size = Int(
        CACHE_MAX_BYTES, help="Bytes the cache may hold; least recently used objects are evicted beyond."
    ).tag(config=True)
    engine = Enum(
        engines.ENGINES, "pandas",
        help="What %%s3ingest binds: a pandas DataFrame, a lazy dask DataFrame (one partition per object, "
        "computed by your distributed Client if you made one) or a polars DataFrame. dask and polars need "
        "pip install 'dreambolt_magic[dask]' or '[polars]'. --engine decides for one load.",
    ).tag(config=True)

    @validate("max_attempts", "cache_size", "min_speed")
    def _check_count(self, proposal: dict[str, Any]) -> int:
        value, name = proposal["value"], proposal["trait"].name
        least = 0 if name == "min_speed" else 1
        if value < least:
            raise TraitError(f"{name} must be at least {least}{' byte' if name == 'cache_size' else ''}, not {value}")
        return int(value)

    @validate("endpoint_url")
    def _drop_user_info(self, proposal: dict[str, Any]) -> str | None:
        # Kept, the password would show in %config's listing, the panel's Endpoint box and its widget state.
        return public_endpoint(proposal["value"])

    @validate("connect_timeout", "read_timeout")
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        if value <= 0:
            raise TraitError(f"{proposal['trait'].name} must be a positive number of seconds, not {value}")
        return float(value)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._demo: Any = None
        self._saved_endpoint: str | None = None
        self._saved_environ: dict[str, str] = {}

    @property
    def _user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "the magics are used from a running IPython"
        return self.shell.user_ns

    @magic_arguments()
    @load_arguments
    @line_cell_magic
    def s3ingest(self, line: str, cell: str | None = None) -> Any:
        """Load an S3 object into a pandas DataFrame.

        As a cell magic, the cell's body is the URI and the DataFrame is bound to VAR::

            %%s3ingest df --columns a,b
            s3://bucket/path/data.parquet

        As a line magic, the URI is on the line and the DataFrame is returned::

            df = %s3ingest s3://bucket/path/data.csv.gz --nrows 1000

        URIs: s3://bucket/key, s3a://, https://bucket.s3.REGION.amazonaws.com/key, path-style https URLs,
        and ?versionId=... for a version. In the cell body, {name} is replaced by the value of the
        variable name (write {{ and }} for literal braces). Formats: parquet, csv, tsv, json, jsonl/ndjson,
        feather/arrow, orc and xlsx (pip install 'dreambolt_magic[excel]'), compressed with .gz, .bz2, .xz or
        .zst, or in a .zip holding one data file. Tab completes s3:// URIs (buckets, folders and keys, listed
        from S3; keys after an access point's ARN/), S3 https:// URLs, here, in the cell's body and in strings
        in code, and option names after --.

        Parser options go to the parser as dreambolt_magic.load(uri, sep=';') passes them: --sep ';',
        --encoding latin-1, --header none (no header row; or the row number of the names, from 0), --sheet
        NAME_OR_INDEX (xlsx), and any other with --option KEY=VALUE, repeatable, VALUE read as a Python literal
        (--option skiprows=2 --option "na_values=['-']"). One the parser does not take is refused.

        Several objects load into one DataFrame: put one URI per line in the cell, or use a glob
        (s3://bucket/logs/2024-*/*.csv.gz; ** crosses folders) or a prefix ending in / (every object
        under it). Schemas are unified (a missing column is null); Hive folders (year=2024/) become
        columns. --filter EXPR keeps matching rows and skips partitions (and Parquet row groups, by their
        statistics) that cannot match; EXPR allows only comparisons, in, and, or, not, column names and
        literals. --sample N takes a first look: the first N rows of the first objects, fetching no more.
        Objects archived in Glacier or Deep Archive refuse the load before any download (--info flags
        them); --skip-archived loads the rest.

        --engine dask binds a lazy dask DataFrame instead, one partition per object: only the listing
        and the first object's schema are read now; each object is read when dask computes it, on your
        distributed Client if you made one (else dask's local threaded scheduler), with the same
        credentials chain, region, endpoint and retries. --engine polars binds a polars DataFrame. They
        need pip install 'dreambolt_magic[dask]' or 'dreambolt_magic[polars]'.

        Credentials come from the standard AWS chain (environment, AWS_PROFILE, ~/.aws files, SSO);
        never pass secrets as arguments. With none configured, a public object still loads unsigned.
        A Requester Pays bucket needs --requester-pays: your account then pays for the requests and bytes.
        Objects encrypted with a key of yours (SSE-C): --sse-c-key-env NAME names the environment variable
        that holds the key, so that it is in no cell and no history.
        Defaults for every option: %config S3IngestMagics.

        On failure an explanation with the cause and the fix is shown, and VAR keeps its previous value.
        """
        args = parse_argstring(self.s3ingest, line)
        if args.info:
            self._preview(args.target if cell is None else uris_from_body(cell, self._user_ns), args, show=True)
            return None
        if cell is None:
            return self._load(args.target, args)
        name = arguments.check_variable(args.target)
        frame = self._load(uris_from_body(cell, self._user_ns), args)
        self._user_ns[name] = frame
        return None

    def connection_settings(self, args: Any) -> dict[str, Any]:
        """Where and how to connect, as a load's keywords: the line's options over ``%config``'s settings."""
        return {
            "region": args.region or self.region,
            "profile": args.profile or self.profile,
            "endpoint_url": args.endpoint_url or self.endpoint_url,
            "anon": bool(args.anon) or self.anon,
            "requester_pays": bool(args.requester_pays) or self.requester_pays,
            "max_attempts": args.max_attempts or self.max_attempts,
            "unsigned_fallback": self.unsigned_fallback,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
        }

    def _load(self, uri: str | list[str], args: Any) -> Any:
        check_arguments(args)
        read_options = parser_options(args)
        engine = args.engine or self.engine
        if engine == "dask" and args.sample is not None:
            raise UsageError("--sample loads rows into memory; with --engine dask use --nrows N, which gives the "
                             "first N rows as a lazy dask DataFrame")
        try:
            engines.require(engine)  # before any request: a missing package is not worth a download
        except ImportError as exc:
            raise UsageError(str(exc)) from None
        key = customer_key_from_env(args.sse_c_key_env)
        if key is not None and (engine == "dask" or args.cache):
            raise UsageError("--sse-c-key-env does not go with --engine dask (the key would travel to the workers) "
                             "nor with --cache (the cache would keep the decrypted bytes)")
        quiet = args.quiet or self.quiet
        try:
            frame = api.load(
                uri,
                format=args.format,
                columns=args.columns,
                nrows=args.nrows,
                sample=args.sample,
                table_version=args.table_version,
                **self.connection_settings(args),
                progress=self.progress and not args.no_progress,
                min_speed=self.min_speed if args.min_speed is None else args.min_speed,
                force=args.force,
                source_column=args.source_column,
                filter=args.filter,
                skip_archived=args.skip_archived,
                # An SSE-C object is never cached, whatever %config says: the cache would keep it decrypted.
                cache=self._cache() if (args.cache or self.cache) and not args.no_cache and key is None else None,
                sse_customer_key=key,
                # polars is converted here, once the summary has read the pandas frame's provenance.
                engine="pandas" if engine == "polars" else engine,
                **read_options,
            )
        except S3Error as exc:
            # The rich explanation once; the error still fails the cell (Run All stops here), showing nothing more.
            display(exc)
            exc.displayed = True
            raise
        except KeyboardInterrupt:
            # One line, not urllib3's and the socket's frames; still an interrupt, so that Run All stops.
            raise LoadInterrupted(f"Interrupted: {uri if isinstance(uri, str) else uri[0]} was not loaded, and "
                                  "nothing was bound.") from None
        if engine == "dask":
            if not quiet:
                print(engines.describe(frame, uri))
            return frame
        if not quiet:
            print(api.summarize(frame) + (" · polars DataFrame" if engine == "polars" else ""))
        return engines.to_polars(frame) if engine == "polars" else frame

    @line_magic
    def s3ingest_info(self, line: str = "") -> Any:
        """Show what %%s3ingest would load, without downloading the data.

        Usage: %s3ingest_info URI [--format F] [--region R] [--profile P] [--endpoint-url E] [--anon]
                                  [--table-version N]
               info = %s3ingest_info s3://bucket/table/

        URI may be a glob or a prefix ending in /. Shows the objects and their total size, the columns
        (with types and row counts from Parquet footers, read with a ranged GET each; for other formats
        the names from the first object's first few KiB), Hive partition columns, and the memory the
        DataFrame would take (estimated from Parquet footers, or roughly from sizes, "~"). A Delta Lake or
        Iceberg table's root shows the table: its version (Delta) or snapshot id and metadata file (Iceberg),
        the files that version names, its rows and columns; --table-version N another version. Returns the info.
        """
        if not line.strip():
            raise UsageError("%s3ingest_info needs a URI, e.g. %s3ingest_info s3://bucket/table/")
        args = parse_argstring(self.s3ingest, line)
        return self._preview(args.target, args, show=False)

    def _preview(self, uri: str | list[str], args: Any, *, show: bool) -> Any:
        from dreambolt_magic.datasets import preview

        try:
            found = preview.info(
                uri,
                format=args.format,
                **self.connection_settings(args),
                sse_customer_key=customer_key_from_env(args.sse_c_key_env),
                table_version=args.table_version,
            )
        except S3Error as exc:
            display(exc)
            exc.displayed = True
            raise
        if show:
            display(found)
        return found

    def _cache(self) -> Cache:
        from dreambolt_magic.objects.cache import Cache

        return Cache(self.cache_dir, max_bytes=self.cache_size)

    @line_magic
    def s3ingest_cache(self, line: str = "") -> Any:
        """Show or clear the local cache of S3 objects that %%s3ingest --cache keeps.

        Usage: %s3ingest_cache         list the cached objects (most recently used first) and their size
               %s3ingest_cache clear   remove every cached object

        The cache's directory and size limit are %config S3IngestMagics.cache_dir and .cache_size;
        %config S3IngestMagics.cache = True caches every load. Returns the cache.
        """
        command = line.strip()
        store = self._cache()
        if command == "clear":
            removed = store.clear()
            print(f"Removed {plural(removed, 'cached object')} from {store.directory}.")
            return None
        if command:
            raise UsageError(f"Unknown argument {command!r}; use %s3ingest_cache or %s3ingest_cache clear.")
        entries = store.entries()
        total = sum(e.size for e in entries)
        print(f"Cache at {store.directory}: {plural(len(entries), 'object')}, "
              f"{human_bytes(total)} of {human_bytes(store.max_bytes)}.")
        for entry in entries:
            print(f"  {entry.uri}  {human_bytes(entry.size)}  etag {entry.etag}")
        return None  # the listing above is the answer; a Cache repr as Out[] would repeat it

    @line_magic
    def s3ingest_demo(self, line: str = "") -> Any:
        """Start an embedded S3 server with sample data and point %%s3ingest at it.

        Usage: demo = %s3ingest_demo   start it (once), list the sample URIs, return the server
               %s3ingest_demo stop     stop it and restore the endpoint setting

        The server's ``endpoint_url`` is what ``dreambolt_magic.load(..., endpoint_url=...)`` needs.

        The server is moto's, on 127.0.0.1 at a free port, in this kernel; it needs
        pip install 'dreambolt_magic[demo]'. No AWS account or network is used.
        """
        command = line.strip()
        if command == "stop":
            if self._demo is not None:
                self.stop_demo()
                print("The embedded S3 server is stopped; the endpoint setting and the AWS_* variables are "
                      "as they were.")
            return None
        if command:
            raise UsageError(f"Unknown argument {command!r}; use %s3ingest_demo or %s3ingest_demo stop.")
        if self._demo is None:
            try:
                from dreambolt_magic.notebook import demo
            except ImportError as exc:  # pragma: no cover - the demo extra is part of the test set-up
                raise UsageError(f"{exc}. Install it with: pip install 'dreambolt_magic[demo]'") from None
            self._saved_endpoint = self.endpoint_url
            self._demo = demo.start_demo_server()
            self.endpoint_url = self._demo.endpoint_url
            self._saved_environ = demo.demo_credentials(self._demo.environ())
        print(f"Embedded S3 server at {self._demo.endpoint_url} (bucket {self._demo.bucket}, "
              f"region {self._demo.region}); %%s3ingest now reads from it. Try:")
        for label, uri in self._demo.uris.items():
            print(f"  {label:<10} {uri}")
        return self._demo

    @line_magic
    def s3ingest_panel(self, line: str = "") -> None:
        """Show a panel to browse S3, pick an object and load it into a variable by clicking.

        Usage: %s3ingest_panel

        The panel lists the buckets (or lets you type one), browses folders, offers the columns of the
        object you pick (read from its schema, not by downloading it), and loads it in the background with
        a progress bar and a Cancel button. The frame is bound to the variable you name; the panel then
        shows its summary, its first rows and the equivalent %%s3ingest cell, to copy into the notebook.

        Its connection settings (endpoint, region, profile, anonymous access, requester pays) start from
        %config S3IngestMagics, as do max_attempts, unsigned_fallback, the timeouts and min_speed. It never asks
        for credentials: they come from the standard AWS chain, as for %%s3ingest.
        """
        if line.strip():
            raise UsageError(f"%s3ingest_panel takes no arguments, not {line.strip()!r}; its settings come "
                             "from %config S3IngestMagics.")
        from dreambolt_magic.notebook.panel import panel

        settings: dict[str, Any] = {"endpoint_url": self.endpoint_url, "region": self.region,
                                    "profile": self.profile, "anon": self.anon,
                                    "requester_pays": self.requester_pays}
        display(panel(**settings, namespace=self._user_ns, cell_defaults=settings,
                      max_attempts=self.max_attempts, unsigned_fallback=self.unsigned_fallback,
                      connect_timeout=self.connect_timeout, read_timeout=self.read_timeout, min_speed=self.min_speed))

    def stop_demo(self) -> None:
        """Stop the demo server, and put the endpoint setting and the ``AWS_*`` variables back as they were."""
        if self._demo is not None:
            from dreambolt_magic.notebook import demo

            self._demo.stop()
            self.endpoint_url, self._demo = self._saved_endpoint, None
            demo.restore_environ(self._saved_environ)

    def park_demo(self) -> tuple[Any, ...] | None:
        """The running demo, with what its stop puts back, handed over (not stopped) to the next instance: a
        ``%reload_ext`` carries on with the same server and endpoint."""
        if self._demo is None:
            return None
        parked, self._demo = (self._demo, self._saved_endpoint, self._saved_environ, self.endpoint_url), None
        return parked

    def adopt_demo(self, parked: tuple[Any, ...]) -> None:
        """Carry on with a demo an earlier instance parked (see :meth:`park_demo`)."""
        self._demo, self._saved_endpoint, self._saved_environ, self.endpoint_url = parked
