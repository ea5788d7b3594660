"""The old import path of the loader, kept for this release: use ``dreambolt_magic.load`` and
``dreambolt_magic.summarize`` (or :mod:`dreambolt_magic.api`)."""

from dreambolt_magic.api import load, parse_uri, summarize
from dreambolt_magic.objects.load import load_object
from dreambolt_magic.units import human_bytes

__all__ = ["human_bytes", "load", "load_object", "parse_uri", "summarize"]
