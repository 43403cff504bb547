"""Object storage with one global resourceVersion and a bounded event history.

This plays etcd plus the apiserver's watch cache: every write gets the next integer
resourceVersion and is appended to an event log. The log keeps the last ``window`` events; a
watch or an exact-version list from before the oldest retained event gets 410 Expired, which is
how real clients learn they must re-list. Because each event keeps the object's previous state,
the store can also rebuild any resource's list as it was at a retained resourceVersion — which
is what paginated lists (``limit``/``continue``) need to stay consistent across pages.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import expired

ObjectKey = tuple[str, str, str]  # (resource key, namespace, name)


@dataclass(frozen=True)
class Event:
    """One committed change; ``obj`` is the new state (last state for DELETED), ``old`` the previous."""

    rv: int
    type: str
    key: str
    obj: dict
    old: dict | None


def _meta_key(key: str, obj: dict) -> ObjectKey:
    meta = obj["metadata"]
    return (key, meta.get("namespace", ""), meta["name"])


class Store:
    """Thread-safe object map; callers hold ``lock`` around read-modify-write sequences."""

    def __init__(self, window: int = 1000, snapshot_path: Path | None = None):
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._objects: dict[ObjectKey, dict] = {}
        self._events: deque[Event] = deque()
        self._window = max(1, window)
        self._listeners: list[Callable[[Event], None]] = []
        self._snapshot_path = snapshot_path
        self._dirty = False
        self.rv = 0
        # Oldest resourceVersion from which the event history is complete.
        self.compacted_rv = 0
        if snapshot_path and snapshot_path.exists():
            self._load(snapshot_path)

    # -- reads -------------------------------------------------------------------------------
    def get(self, key: str, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._objects.get((key, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def items(self, key: str, namespace: str | None = None) -> list[dict]:
        with self.lock:
            found = [
                copy.deepcopy(o)
                for (k, ns, _), o in self._objects.items()
                if k == key and (namespace is None or ns == namespace)
            ]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def items_at(self, key: str, rv: int) -> list[dict]:
        """The objects of one resource as they were right after ``rv`` was committed."""
        with self.lock:
            if rv > self.rv:
                raise expired(f"Timeout: Too large resource version: {rv}, current: {self.rv}")
            self.ensure_retained(rv)
            state = {k: o for k, o in self._objects.items() if k[0] == key}
            for event in reversed(self._events):
                if event.rv <= rv:
                    break
                if event.key != key:
                    continue
                okey = _meta_key(key, event.obj)
                if event.old is None:
                    state.pop(okey, None)
                else:
                    state[okey] = event.old
            found = [copy.deepcopy(o) for o in state.values()]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def ensure_retained(self, rv: int) -> None:
        if rv < self.compacted_rv:
            raise expired(f"too old resource version: {rv} ({self.compacted_rv})")

    def events_after(self, rv: int) -> list[Event]:
        with self.lock:
            self.ensure_retained(rv)
            return [e for e in self._events if e.rv > rv]

    def wait_for_change(self, after_rv: int, timeout: float) -> None:
        with self._changed:
            if self.rv <= after_rv:
                self._changed.wait(timeout)

    # -- writes ------------------------------------------------------------------------------
    def put(self, key: str, obj: dict) -> dict:
        """Create or replace ``obj``; assigns the next resourceVersion and records the event."""
        with self.lock:
            okey = _meta_key(key, obj)
            old = self._objects.get(okey)
            self.rv += 1
            # kind, apiVersion and metadata first, as the real server serialises objects.
            head = {k: obj[k] for k in ("kind", "apiVersion", "metadata") if k in obj}
            stored = copy.deepcopy({**head, **obj})
            stored["metadata"]["resourceVersion"] = str(self.rv)
            self._objects[okey] = stored
            self._record(Event(self.rv, "MODIFIED" if old else "ADDED", key, stored, old))
            return copy.deepcopy(stored)

    def remove(self, key: str, namespace: str, name: str) -> dict:
        with self.lock:
            old = self._objects.pop((key, namespace, name))
            self.rv += 1
            # The DELETED event carries the deletion's resourceVersion, as the real server does.
            last = copy.deepcopy(old)
            last["metadata"]["resourceVersion"] = str(self.rv)
            self._record(Event(self.rv, "DELETED", key, last, old))
            return copy.deepcopy(last)

    def _record(self, event: Event) -> None:
        self._events.append(event)
        while len(self._events) > self._window:
            self.compacted_rv = self._events.popleft().rv
        self._dirty = True
        self._changed.notify_all()
        for listener in self._listeners:
            listener(event)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` (under the store lock, so it must be quick) after every commit."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        with self.lock:
            yield self

    # -- persistence -------------------------------------------------------------------------
    def flush(self) -> None:
        """Write a snapshot if anything changed; atomic so a crash never leaves half a file."""
        if not self._snapshot_path:
            return
        with self.lock:
            if not self._dirty:
                return
            data = {"resourceVersion": self.rv, "objects": [[k[0], o] for k, o in self._objects.items()]}
            text = json.dumps(data, sort_keys=True)
            self._dirty = False
        tmp = self._snapshot_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self._snapshot_path)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        for key, obj in data["objects"]:
            self._objects[_meta_key(key, obj)] = obj
        self.rv = int(data["resourceVersion"])
        # History is not persisted: anything older than the restart is compacted, like etcd.
        self.compacted_rv = self.rv
