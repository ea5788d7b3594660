"""The panel: browse a bucket, pick an object, choose columns, and load it into a variable by clicking.

The second front end on the loader, beside the magics: :func:`~dreambolt_magic.datasets.browse.list_buckets`,
:func:`~dreambolt_magic.datasets.browse.list_prefix` and :func:`~dreambolt_magic.datasets.browse.peek_columns` fill the
browser, and :func:`~dreambolt_magic.api.load` does the loading, in a thread, with a cancel flag and a
progress bar that lives in the panel. :class:`S3Panel` keeps every child widget as an attribute, so a test
(or a user) can set ``.value`` and call ``.click()`` as a person would click.

Callbacks never let an exception vanish: each runs guarded and shows what went wrong in ``output`` (an
:class:`~dreambolt_magic.errors.S3Error` as the same explanation the magic shows). Results are appended
with ``Output.append_*`` rather than ``with output:``, which routes by message and misfires from threads.
No widget ever holds a credential: there are no credential fields, and errors never carry one.
"""

from __future__ import annotations

import functools
import keyword
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from html import escape
from typing import Any

import ipywidgets as widgets

from dreambolt_magic import api
from dreambolt_magic.datasets import browse
from dreambolt_magic.errors import S3Error
from dreambolt_magic.formats.readers import FORMATS
from dreambolt_magic.notebook import cells, layout
from dreambolt_magic.notebook.bar import WidgetProgress
from dreambolt_magic.notebook.browsing import Browsing
from dreambolt_magic.notebook.cells import PanelRequest
from dreambolt_magic.notebook.outputs import Outputs
from dreambolt_magic.options import TRANSFER
from dreambolt_magic.transfer.progress import Cancelled
from dreambolt_magic.units import plural

__all__ = ["S3Panel", "WidgetProgress", "panel"]



def panel(
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    anon: bool = False,
    **options: Any,
) -> S3Panel:
    """A new :class:`S3Panel` with these connection settings, its bucket list filled where allowed.

    Loaded frames are bound in the running IPython's namespace (or ``namespace=``, a dict). Other
    ``options`` are those of :class:`S3Panel`.
    """
    made = S3Panel(endpoint_url=endpoint_url, region=region, profile=profile, anon=anon, **options)
    try:
        made.refresh_buckets()
    except Exception as exc:  # an unreachable endpoint, say: the panel shows why, and a bucket can be typed
        made._show_error(exc)
    return made


class S3Panel(Browsing, Outputs, widgets.VBox):
    """Browse S3, pick an object, load it into a variable; progress, results and errors in the panel.

    Children kept as attributes: connection ``endpoint``, ``region``, ``profile``, ``anon``, ``requester_pays``;
    browser ``bucket`` (a combobox: listed where allowed, typed otherwise), ``buckets_button``, ``up_button``,
    ``breadcrumbs``, ``filter`` (names starting with), ``entries`` (folders first, then objects with size
    and last-modified), ``more_button`` (next page), ``browse_status``; options ``uri``, ``format``,
    ``columns``, ``nrows``; ``variable``, ``load_button``, ``cancel_button``, ``progress`` (the bar),
    ``status``, ``cell`` (the equivalent ``%%s3ingest`` cell) and ``output``.

    ``namespace`` is where loaded frames are bound (default: the running IPython's). ``cell_defaults``
    are the settings ``%%s3ingest`` already has from its config, left out of the equivalent cell.
    ``max_attempts``, ``unsigned_fallback``, ``connect_timeout``, ``read_timeout`` and ``min_speed`` are the
    loader's.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        anon: bool = False,
        requester_pays: bool = False,
        namespace: MutableMapping[str, Any] | None = None,
        cell_defaults: Mapping[str, Any] | None = None,
        max_attempts: int = 5,
        unsigned_fallback: bool = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        min_speed: int = TRANSFER.min_speed,
        page_size: int = 200,
    ) -> None:
        super().__init__()
        self.namespace: MutableMapping[str, Any] = _user_namespace() if namespace is None else namespace
        self.cell_defaults = dict(cell_defaults or {})
        self.loader_options: dict[str, Any] = {
            "max_attempts": max_attempts,
            "unsigned_fallback": unsigned_fallback,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "min_speed": min_speed,  # the load's only: browsing reads no bodies
        }
        self.page_size = page_size
        self._quiet = 0
        self._lock = threading.Lock()
        self._output_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._browsing: tuple[str, str] | None = None  # (bucket, folder prefix) shown in entries
        self._folders: list[str] = []
        self._objects: list[browse.ObjectInfo] = []
        self._token: str | None = None
        self._build(endpoint_url, region, profile, anon, requester_pays)
        self._wire()

    # --- construction --------------------------------------------------------------------------------

    def _build(self, endpoint_url: str | None, region: str | None, profile: str | None, anon: bool,
               requester_pays: bool) -> None:
        self.endpoint = widgets.Text(endpoint_url or "", description="Endpoint", placeholder="AWS (default)",
                                     continuous_update=False)
        self.region = widgets.Text(region or "", description="Region", placeholder="detected",
                                   continuous_update=False)
        self.profile = widgets.Text(profile or "", description="Profile", placeholder="default chain",
                                    continuous_update=False)
        self.anon = widgets.Checkbox(bool(anon), description="Anonymous", indent=False,
                                     tooltip="Unsigned requests, for public buckets")
        self.requester_pays = widgets.Checkbox(bool(requester_pays), description="Requester pays", indent=False,
                                               tooltip="For a Requester Pays bucket: you pay for the requests")
        self.bucket = widgets.Combobox(description="Bucket", placeholder="choose or type a bucket name",
                                       ensure_option=False, continuous_update=False)
        self.buckets_button = widgets.Button(description="List buckets", icon="refresh",
                                             tooltip="List the buckets these credentials may see")
        self.up_button = widgets.Button(description="Up", icon="arrow-up", disabled=True,
                                        tooltip="Up one level")
        self.breadcrumbs = widgets.HBox([])
        self.filter = widgets.Text(description="Filter", placeholder="names starting with…",
                                   continuous_update=False)
        self.entries = widgets.Select(options=[], value=None)
        self.more_button = widgets.Button(description="More", icon="ellipsis-h", disabled=True,
                                          tooltip="Load the next page of this listing")
        self.browse_status = widgets.HTML()
        self.uri = widgets.Text(description="URI", placeholder="s3://bucket/path/data.parquet",
                                continuous_update=False)
        self.format = widgets.Dropdown(options=["auto", *FORMATS], value="auto", description="Format")
        self.nrows = widgets.Text(description="Rows", placeholder="all", continuous_update=False)
        self.columns = widgets.SelectMultiple(options=[], description="Columns")
        self.columns_note = widgets.HTML("<i>none selected: all columns</i>")
        self.variable = widgets.Text("df", description="Variable", continuous_update=False)
        self.load_button = widgets.Button(description="Load", icon="download", button_style="primary")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1)
        self.status = widgets.HTML()
        self.cell = widgets.Textarea(placeholder="The equivalent %%s3ingest cell appears here after a load",
                                     rows=2)
        self.output = widgets.Output()
        # Stable class names (dreambolt-panel, dreambolt-load-button, ...) for styling and for browser tests.
        self.add_class("dreambolt-panel")
        for name in ("bucket", "entries", "uri", "format", "columns", "nrows", "variable", "load_button",
                     "cancel_button", "progress", "status", "cell", "output"):
            getattr(self, name).add_class("dreambolt-" + name.replace("_", "-"))
        self.children = layout.arrange(self)

    def _wire(self) -> None:
        self.buckets_button.on_click(self._guarded(lambda _: self.refresh_buckets()))
        self.bucket.observe(self._guarded(self._on_bucket), names="value")
        self.up_button.on_click(self._guarded(lambda _: self.go_up()))
        self.filter.observe(self._guarded(self._on_filter), names="value")
        self.entries.observe(self._guarded(self._on_entry), names="value")
        self.more_button.on_click(self._guarded(lambda _: self.more()))
        self.uri.observe(self._guarded(self._on_uri), names="value")
        self.format.observe(self._guarded(self._on_uri), names="value")
        self.columns.observe(self._guarded(lambda _: self._note_columns()), names="value")
        self.load_button.on_click(self._guarded(lambda _: self.load()))
        self.cancel_button.on_click(self._guarded(lambda _: self.cancel()))

    def close(self) -> None:
        """Cancel a load in progress, then close the panel and every widget in it."""
        self.cancel()
        for child in _descendants(self):
            child.close()
        super().close()

    # --- guarded callbacks -----------------------------------------------------------------------------

    def _guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as a callback: silent while the panel changes its own widgets, and never losing an error."""

        @functools.wraps(fn)
        def callback(*args: Any) -> None:
            if self._quiet:
                return
            try:
                fn(*args)
            except Exception as exc:
                self._show_error(exc)

        return callback

    @contextmanager
    def _programmatic(self) -> Iterator[None]:
        """Within, changes the panel makes to its own widgets do not fire its callbacks."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # --- connection --------------------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The connection settings as the fields hold them now (empty fields are ``None``)."""
        return {
            "endpoint_url": self.endpoint.value.strip() or None,
            "region": self.region.value.strip() or None,
            "profile": self.profile.value.strip() or None,
            "anon": bool(self.anon.value),
            "requester_pays": bool(self.requester_pays.value),
        }

    # --- options -----------------------------------------------------------------------------------------

    def _on_uri(self, change: dict[str, Any]) -> None:
        """Peek at the columns of the object named (again when the format changes)."""
        uri = self.uri.value.strip()
        # A new format for the same object keeps the columns chosen that it still has.
        kept = self.columns.value if change["owner"] is self.format else ()
        with self._programmatic():
            self.columns.options = ()
        if not self.running:
            self._clear_output()
        if not uri:
            self.columns_note.value = "<i>none selected: all columns</i>"
            return
        fmt = None if self.format.value == "auto" else self.format.value
        try:
            names = browse.peek_columns(uri, format=fmt, **self._browse_options())
        except S3Error:
            self.columns_note.value = "<i>columns unknown: see below</i>"
            raise
        with self._programmatic():
            self.columns.options = names
            self.columns.value = tuple(c for c in kept if c in names)
        self._note_columns()

    def _note_columns(self) -> None:
        total, chosen = len(self.columns.options), len(self.columns.value)
        self.columns_note.value = (
            "<i>columns unknown before loading: all are read</i>" if not total
            else f"<i>{chosen} of {plural(total, 'column')}</i>" if chosen
            else f"<i>{plural(total, 'column')}; none selected: all</i>"
        )

    # --- loading -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a load is in progress."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the load in progress (if any) to end; ``False`` if it is still running after ``timeout``."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def load(self) -> None:
        """Start loading ``uri`` into ``variable`` in a thread (what Load does); returns at once."""
        if self.running:
            return
        request = self._request()
        if request is None:
            return
        self._clear_output()
        self.cell.value = ""
        self.progress.value, self.progress.max, self.progress.bar_style = 0, 1, ""
        self.status.value = escape(f"Loading {request.uri}")
        self.load_button.disabled, self.cancel_button.disabled = True, False
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(request, self._cancel),
                                        name="dreambolt-panel-load", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop the load in progress (what Cancel does); nothing is bound. The thread ends within moments."""
        with self._lock:
            if self.running and not self._cancel.is_set():
                self._cancel.set()
                self.cancel_button.disabled = True
                self.status.value = "Cancelling…"

    def _request(self) -> PanelRequest | None:
        name = self.variable.value.strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            return self._refuse(f"{name!r} is not a valid Python variable name: use letters, digits and "
                                "underscores, not starting with a digit, and not a keyword (e.g. df).")
        uri = self.uri.value.strip()
        if not uri:
            return self._refuse("Pick an object above or type its URI first.")
        text = self.nrows.value.strip().replace(",", "").replace("_", "")
        if text and not text.isdigit():
            return self._refuse(f"Rows must be a whole number of 0 or more (or blank for all), not {text!r}.")
        fmt = None if self.format.value == "auto" else self.format.value
        # In the file's order, whatever order they were clicked in.
        columns = [c for c in self.columns.options if c in self.columns.value] or None
        return PanelRequest(name, uri, fmt, columns, int(text) if text else None, self.settings())

    def _refuse(self, message: str) -> PanelRequest | None:
        """Say why nothing was loaded; returns no request."""
        self.status.value = f"<span style='color:#a94442'>{escape(message)}</span>"
        return None

    def _work(self, request: PanelRequest, cancel: threading.Event) -> None:
        try:
            try:
                frame = api.load(request.uri, format=request.format, columns=request.columns,
                                nrows=request.nrows, progress=WidgetProgress(self.progress, self.status),
                                cancel=cancel, **request.settings, **self.loader_options)
            except Cancelled:
                return self._cancelled(request)
            except Exception as exc:
                self.progress.bar_style = "danger"
                return self._show_error(exc, unchanged=request.name)
            with self._lock:
                # Cancel and bind exclude each other: a cancel that came too late to stop the download
                # still means nothing is bound.
                if cancel.is_set():
                    return self._cancelled(request)
                self.namespace[request.name] = frame
            try:
                self._show_result(request, frame)
            except Exception as exc:
                self._show_error(exc)
        finally:
            self.load_button.disabled, self.cancel_button.disabled = False, True

    def _cancelled(self, request: PanelRequest) -> None:
        self.progress.bar_style = "danger"
        self.status.value = ("<span style='color:#a94442'>Cancelled: nothing was loaded; "
                             f"{escape(request.name)} is unchanged.</span>")

    def _show_result(self, request: PanelRequest, frame: Any) -> None:
        self.status.value = f"Loaded into <code>{escape(request.name)}</code>"
        self._append_text(api.summarize(frame) + "\n")
        head = frame.head()
        bundle = {"text/plain": repr(head)}
        html = head._repr_html_() if hasattr(head, "_repr_html_") else None
        if html:
            bundle["text/html"] = html
        self._append({"output_type": "display_data", "data": bundle, "metadata": {}})
        self.cell.value = self.equivalent_cell(request)

    def equivalent_cell(self, request: PanelRequest) -> str:
        """The ``%%s3ingest`` cell that loads what ``request`` loaded, to re-run without the panel
        (:func:`dreambolt_magic.notebook.cells.equivalent_cell`, with this panel's ``cell_defaults``)."""
        return cells.equivalent_cell(request, self.cell_defaults)

    # --- output ------------------------------------------------------------------------------------------


def _user_namespace() -> MutableMapping[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _descendants(root: widgets.Widget) -> list[widgets.Widget]:
    found: list[widgets.Widget] = []
    stack = list(getattr(root, "children", ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(getattr(child, "children", ()))
    return found
