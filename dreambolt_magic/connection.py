"""The old import path of ``forget()``, kept for this release: use ``dreambolt_magic.forget_connections()``."""

from dreambolt_magic.client.connection import forget

__all__ = ["forget"]
