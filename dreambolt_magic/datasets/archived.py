"""A set's archived objects, decided from its listing before anything is downloaded.

An object in the Glacier Flexible Retrieval or Deep Archive storage class (:data:`~dreambolt_magic.datasets.listing.
ARCHIVED_CLASSES`) is served only once a copy of it has been restored; its GET is refused with
``InvalidObjectState``. A set that holds any such object (without a restored copy, as the listing's
``RestoreStatus`` says) is refused at once, naming them, with :class:`~dreambolt_magic.errors.S3ArchivedError`
(code ``ArchivedObjects``), rather than after the other objects were downloaded; with ``skip_archived`` they are
left out and counted instead. Objects named one by one are not listed, so nothing is known of their storage
class: one that is archived fails at its GET, as a single object does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.errors import S3ArchivedError
from dreambolt_magic.units import plural

__all__ = ["Skipped", "refuse_or_skip", "skipping"]

#: The most archived keys an error keeps (its explanation names fewer).
KEPT_KEYS = 20


def refuse_or_skip(refs: Sequence[ObjectRef], label: str, *, skip: bool,
                   endpoint: str | None = None) -> tuple[list[ObjectRef], int]:
    """The objects to load and how many were skipped: every one of ``refs`` if none is archived; without
    ``skip`` an archived one raises; with it they are left out, unless nothing would be left (raises too)."""
    archived = [r for r in refs if r.archived]
    if not archived:
        return list(refs), 0
    if not skip or len(archived) == len(refs):
        raise _error(archived, label, listed=len(refs), skip=skip, endpoint=endpoint)
    return [r for r in refs if not r.archived], len(archived)


class Skipped:
    """The count of archived objects :func:`skipping` has left out so far."""

    def __init__(self) -> None:
        self.count = 0


def skipping(refs: Iterable[ObjectRef], label: str, *, skip: bool, skipped: Skipped,
             endpoint: str | None = None) -> Iterator[ObjectRef]:
    """``refs`` as they come (a sample's lazy listing), an archived one raising when it is met, or, with
    ``skip``, left out and counted in ``skipped``. ``endpoint`` is the error's (for its restore command)."""
    for ref in refs:
        if not ref.archived:
            yield ref
        elif skip:
            skipped.count += 1
        else:
            raise _error([ref], label, listed=None, skip=False, endpoint=endpoint)


def _error(archived: list[ObjectRef], label: str, *, listed: int | None, skip: bool,
           endpoint: str | None) -> S3ArchivedError:
    first = archived[0].uri
    classes = sorted({r.storage_class for r in archived if r.storage_class})
    count = len(archived)
    if skip:
        message = f"every object of {label} is archived ({count:,}): skipping them leaves nothing to load"
    else:
        message = (f"{plural(count, 'object')} of {label} {'is' if count == 1 else 'are'} "
                   f"archived and must be restored before {'it' if count == 1 else 'they'} can be read")
    return S3ArchivedError(
        message, uri=label, bucket=first.bucket, key=first.key, code="ArchivedObjects", endpoint=endpoint,
        hints={"archived": [r.uri.key for r in archived[:KEPT_KEYS]], "archived_count": count,
               "storage_classes": classes, "listed": listed, "skipping": skip},
    )
