"""The old import path of the progress protocol and cancel, kept for this release: use
``dreambolt_magic.Progress`` and ``dreambolt_magic.Cancelled`` (or :mod:`dreambolt_magic.transfer.progress`)."""

from dreambolt_magic.transfer.progress import CancelFlag, Cancelled, NoProgress, Progress, TqdmProgress

__all__ = ["CancelFlag", "Cancelled", "NoProgress", "Progress", "TqdmProgress"]
