"""dreambolt_magic: load S3 objects into pandas DataFrames from Jupyter.

    %load_ext dreambolt_magic

    %%s3ingest df --columns a,b
    s3://bucket/path/data.parquet

The loader is usable without IPython: ``dreambolt_magic.load("s3://bucket/key")``.

Importing the package imports neither pandas, pyarrow nor botocore: the first load (or ``%load_ext``'s
warm-up thread) does.
"""

from dreambolt_magic.api import load, parse_uri, summarize
from dreambolt_magic.errors import (
    S3ArchivedError,
    S3AuthError,
    S3CacheError,
    S3Error,
    S3FormatError,
    S3GenericError,
    S3NetworkError,
    S3NotFound,
    S3RateLimit,
    S3RegionError,
    S3TooLarge,
    S3UriError,
)
from dreambolt_magic.transfer.progress import Cancelled, Progress
from dreambolt_magic.uri import S3Uri

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "Progress",
    "S3ArchivedError",
    "S3AuthError",
    "S3CacheError",
    "S3Error",
    "S3FormatError",
    "S3GenericError",
    "S3NetworkError",
    "S3NotFound",
    "S3RateLimit",
    "S3RegionError",
    "S3TooLarge",
    "S3Uri",
    "S3UriError",
    "forget_connections",
    "load",
    "load_ipython_extension",
    "panel",
    "parse_uri",
    "summarize",
    "unload_ipython_extension",
]


def forget_connections() -> None:
    """Close and drop the connections kept between loads (the next load reads credentials afresh).

    See :func:`dreambolt_magic.client.connection.forget`.
    """
    from dreambolt_magic.client.connection import forget

    forget()


def panel(endpoint_url=None, region=None, profile=None, anon=False, **options):
    """The ipywidgets panel: browse S3, pick an object, load it into a variable (needs ipywidgets).

    See :func:`dreambolt_magic.notebook.panel.panel`; ``%s3ingest_panel`` shows one set up from the magics' config.
    """
    from dreambolt_magic.notebook.panel import panel as _panel

    return _panel(endpoint_url=endpoint_url, region=region, profile=profile, anon=anon, **options)


def load_ipython_extension(ipython):
    """Called by ``%load_ext dreambolt_magic``."""
    from dreambolt_magic.notebook.extension import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):
    """Called by ``%unload_ext dreambolt_magic``."""
    from dreambolt_magic.notebook.extension import unload_ipython_extension as _unload

    _unload(ipython)
