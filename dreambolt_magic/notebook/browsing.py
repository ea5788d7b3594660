"""The panel's browser: the bucket list, a folder's entries a page at a time, breadcrumbs, up and More.

:class:`Browsing` is the part of :class:`~dreambolt_magic.notebook.panel.S3Panel` that lists; the panel builds
the widgets it uses and wires their events to its ``_on_*`` methods. Listing goes through
:mod:`dreambolt_magic.datasets.browse`, with the panel's connection settings.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from html import escape
from typing import Any

import ipywidgets as widgets

from dreambolt_magic.datasets import browse
from dreambolt_magic.errors import S3AuthError, S3Error
from dreambolt_magic.units import human_bytes, plural

__all__ = ["FOLDER", "OBJECT", "Browsing"]

#: How an entry of the list says what it is.
FOLDER, OBJECT = "folder:", "object:"
# Browsing waits on the kernel's thread, so it retries less than a load does.
_BROWSE_ATTEMPTS = 2


class Browsing:
    """Listing for the panel (mixed into :class:`~dreambolt_magic.notebook.panel.S3Panel`, which has the widgets)."""

    bucket: widgets.Combobox
    filter: widgets.Text
    entries: widgets.Select
    uri: widgets.Text
    up_button: widgets.Button
    more_button: widgets.Button
    breadcrumbs: widgets.HBox
    browse_status: widgets.HTML
    page_size: int
    loader_options: dict[str, Any]
    _browsing: tuple[str, str] | None
    _folders: list[str]
    _objects: list[browse.ObjectInfo]
    _token: str | None
    settings: Callable[[], dict[str, Any]]
    _guarded: Callable[[Callable[..., Any]], Callable[..., Any]]
    _programmatic: Callable[[], AbstractContextManager[None]]

    def _browse_options(self) -> dict[str, Any]:
        options = {**self.settings(), **self.loader_options}
        options["max_attempts"] = min(options["max_attempts"], _BROWSE_ATTEMPTS)
        options.pop("min_speed", None)  # a load's setting: browsing reads no bodies
        return options

    def refresh_buckets(self) -> None:
        """Fill the bucket list from ListBuckets; if that is refused, say so and let the user type one."""
        try:
            names = browse.list_buckets(**self._browse_options())
        except S3AuthError as exc:
            self.bucket.options = ()
            self._browse_note(f"These credentials may not list buckets ({exc.code or exc.status}): "
                              "type a bucket name in the Bucket box.")
            return
        self.bucket.options = tuple(names)
        # The note sits under the (still empty) list of entries: it names the Bucket box, where the names are.
        self._browse_note(f"{plural(len(names), 'bucket')} visible: pick one in the Bucket box, or type a name there."
                          if names else "No buckets are visible to these credentials: type a bucket name in the "
                          "Bucket box.")

    def go_to(self, bucket: str, prefix: str = "") -> None:
        """Show the folder ``prefix`` (``""``: the top) of ``bucket``, with the filter cleared."""
        bucket = bucket.strip()
        if not bucket:
            return
        with self._programmatic():
            self.bucket.value = bucket
            self.filter.value = ""
        self._list(bucket, prefix)

    def go_up(self) -> None:
        """Up one level."""
        if self._browsing is not None:
            bucket, prefix = self._browsing
            self.go_to(bucket, prefix[:-1].rpartition("/")[0] + "/" if "/" in prefix[:-1] else "")

    def more(self) -> None:
        """Append the next page of the current listing."""
        if self._browsing is not None and self._token:
            bucket, prefix = self._browsing
            self._fetch(bucket, prefix, token=self._token)

    def _list(self, bucket: str, prefix: str) -> None:
        self._browsing = (bucket, prefix)
        self._folders, self._objects, self._token = [], [], None
        self._show_breadcrumbs(bucket, prefix)
        self.up_button.disabled = not prefix
        self._fetch(bucket, prefix, token=None)

    def _fetch(self, bucket: str, prefix: str, *, token: str | None) -> None:
        try:
            page = browse.list_prefix(bucket, prefix + self.filter.value, token=token,
                                      page_size=self.page_size, **self._browse_options())
        except S3Error:
            self._show_entries()
            self.more_button.disabled = True
            self._browse_note(f"Could not list s3://{bucket}/{prefix}: see below.")
            raise
        self._folders.extend(page.folders)
        self._objects.extend(page.objects)
        self._token = page.next_token
        self._show_entries()

    def _show_entries(self) -> None:
        prefix = self._browsing[1] if self._browsing else ""
        options = [(f[len(prefix):], FOLDER + f) for f in self._folders]
        options += [(_object_label(o, prefix), OBJECT + o.key) for o in self._objects]
        with self._programmatic():
            self.entries.options = options
            self.entries.value = None
        self.more_button.disabled = self._token is None
        shown = f"{plural(len(self._folders), 'folder')}, {plural(len(self._objects), 'object')}"
        self._browse_note(shown + ("; more with More" if self._token else "") if options else "Nothing here.")

    def _show_breadcrumbs(self, bucket: str, prefix: str) -> None:
        parts = [p for p in prefix.split("/") if p]
        targets = [(bucket, "")] + [(name + "/", "/".join(parts[: i + 1]) + "/") for i, name in enumerate(parts)]
        crumbs = []
        for label, target in targets:
            button = widgets.Button(description=label, tooltip=f"s3://{bucket}/{target}",
                                    layout=widgets.Layout(width="auto"))
            button.on_click(self._guarded(lambda _, target=target: self.go_to(bucket, target)))
            crumbs.append(button)
        old, self.breadcrumbs.children = self.breadcrumbs.children, tuple(crumbs)
        for button in old:
            button.close()

    def _browse_note(self, text: str) -> None:
        self.browse_status.value = escape(text)

    def _on_bucket(self, change: dict[str, Any]) -> None:
        if change["new"].strip():
            self.go_to(change["new"])

    def _on_filter(self, change: dict[str, Any]) -> None:
        if self._browsing is not None:
            self._list(*self._browsing)

    def _on_entry(self, change: dict[str, Any]) -> None:
        value, browsing = change["new"], self._browsing
        if not value or browsing is None:
            return
        if value.startswith(FOLDER):
            self.go_to(browsing[0], value[len(FOLDER):])
        else:
            self.uri.value = f"s3://{browsing[0]}/{value[len(OBJECT):]}"


def _object_label(info: browse.ObjectInfo, prefix: str) -> str:
    when = ""
    if isinstance(info.last_modified, datetime):
        when = " · " + info.last_modified.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{info.key[len(prefix):]} · {human_bytes(info.size)}{when}"
