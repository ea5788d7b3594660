"""The old import path of the panel's listing functions, kept for this release: use
:mod:`dreambolt_magic.datasets.browse`."""

from dreambolt_magic.datasets.browse import Listing, ObjectInfo, list_buckets, list_prefix, peek_columns

__all__ = ["Listing", "ObjectInfo", "list_buckets", "list_prefix", "peek_columns"]
