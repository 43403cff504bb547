"""Watch streams: the event log of the store, filtered and framed the way clients expect.

A watch starts either from "now" with synthetic ADDED events for what exists (resourceVersion
unset or "0", or ``sendInitialEvents=true``) or strictly after a given resourceVersion. A
resourceVersion that has left the retained window produces an ERROR event carrying a 410
``Expired`` Status, as the real watch cache does, so clients re-list. Selector-filtered watches
turn a MODIFIED that moves an object in or out of the selector into ADDED or DELETED.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import selectors
from .errors import ApiError
from .operations import parse_rv
from .resources import ResourceType
from .store import Event, Store

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True)
class WatchQuery:
    """What one watch request asked for."""

    rt: ResourceType
    namespace: str
    label_selector: str | None
    field_selector: str | None
    resource_version: str | None
    send_initial_events: bool
    allow_bookmarks: bool
    timeout_seconds: float


class WatchStream:
    """Yields watch events (``{"type": ..., "object": ...}``) until timeout, stop or client exit."""

    def __init__(self, store: Store, query: WatchQuery, stop: threading.Event, bookmark_interval: float):
        self.store = store
        self.q = query
        self.stop = stop
        self.bookmark_interval = bookmark_interval
        labels = selectors.parse_label_selector(query.label_selector)
        fields = selectors.parse_field_selector(query.field_selector)
        self._match: Callable[[dict], bool] = lambda obj: (
            (not query.namespace or obj["metadata"].get("namespace") == query.namespace)
            and selectors.matches(labels, obj["metadata"].get("labels"))
            and fields(obj)
        )

    def events(self, client_gone: Callable[[], bool] = lambda: False) -> Iterator[dict]:
        deadline = time.monotonic() + self.q.timeout_seconds
        try:
            position, initial = self._start()
        except ApiError as exc:
            yield {"type": "ERROR", "object": exc.status()}
            return
        yield from initial
        last_bookmark = time.monotonic()
        # Bounded by the request's timeout, server shutdown and the client going away.
        while time.monotonic() < deadline and not self.stop.is_set() and not client_gone():
            try:
                with self.store.lock:
                    events, position = self.store.events_after(position), self.store.rv
            except ApiError as exc:
                # The watcher fell behind the retained window: same answer as a stale start.
                yield {"type": "ERROR", "object": exc.status()}
                return
            for event in events:
                translated = self._translate(event)
                if translated:
                    yield translated
            if self.q.allow_bookmarks and time.monotonic() - last_bookmark >= self.bookmark_interval:
                last_bookmark = time.monotonic()
                yield self.bookmark(position)
            remaining = deadline - time.monotonic()
            self.store.wait_for_change(position, max(0.0, min(0.5, remaining)))

    def _start(self) -> tuple[int, list[dict]]:
        rv_text = self.q.resource_version
        with self.store.lock:
            if rv_text in (None, "", "0") or self.q.send_initial_events:
                position = self.store.rv
                objects = [o for o in self.store.items(self.q.rt.key) if self._match(o)]
                initial = [{"type": "ADDED", "object": o} for o in objects]
                if self.q.send_initial_events and self.q.allow_bookmarks:
                    initial.append(self.bookmark(position, {INITIAL_EVENTS_END: "true"}))
                return position, initial
            position = parse_rv(rv_text)
            self.store.ensure_retained(position)
            return position, []

    def _translate(self, event: Event) -> dict | None:
        if event.key != self.q.rt.key:
            return None
        now_matches = event.type != "DELETED" and self._match(event.obj)
        was_matching = event.old is not None and self._match(event.old)
        if event.type == "DELETED":
            kind = "DELETED" if was_matching else None
        elif now_matches:
            kind = "MODIFIED" if was_matching else "ADDED"
        else:
            kind = "DELETED" if was_matching else None
        return {"type": kind, "object": event.obj} if kind else None

    def bookmark(self, rv: int, annotations: dict | None = None) -> dict:
        meta: dict = {"resourceVersion": str(rv)}
        if annotations:
            meta["annotations"] = annotations
        obj = {"kind": self.q.rt.kind, "apiVersion": self.q.rt.api_version, "metadata": meta}
        return {"type": "BOOKMARK", "object": obj}
