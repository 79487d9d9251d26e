"""Reload the layer store when a layer file changes on disk (after an import).

A cheap check before requests: at most once a second, compare each layer
file's (mtime, size, inode) with what was loaded. When one changed, load and
validate the whole directory into a new store and swap it in with one
assignment, so a request sees either the old store or the new one, never a mix.
If the new data does not load (a file edited by hand, say), the old store keeps
serving and the problems are logged. Set RELOAD_LAYERS = False to serve the
data loaded at start-up until a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask

from layers.catalogue.entries import CATALOGUE
from layers.catalogue.validate import LayerDataError
from layers.records import audit
from layers.stores.layers import LayerStore
from layers.stores.opening import accounts_transaction

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0

Snapshot = tuple[tuple[str, int, int, int], ...]


def snapshot(data_dir: Path) -> Snapshot:
    rows = []
    for layer in CATALOGUE:
        try:
            st = (data_dir / layer.file_name).stat()
        except OSError:
            rows.append((layer.name, 0, 0, 0))
            continue
        rows.append((layer.name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(rows)


class LayerReloader:
    def __init__(self, app: Flask, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir
        self.interval = CHECK_INTERVAL_S
        self.loaded = snapshot(data_dir)
        self.checked = time.monotonic()
        self.lock = threading.Lock()

    def check(self) -> None:
        now = time.monotonic()
        if now - self.checked < self.interval:
            return
        if not self.lock.acquire(blocking=False):
            return  # another request is reloading; this one is served the current store
        try:
            self.checked = now
            current = snapshot(self.data_dir)
            if current != self.loaded:
                self.reload(current)
        finally:
            self.lock.release()

    def reload(self, current: Snapshot) -> None:
        changed = [a[0] for a, b in zip(current, self.loaded, strict=True) if a != b]
        self.loaded = current  # a failed load is not retried until the files change again
        try:
            store = LayerStore.from_directory(self.data_dir)
        except LayerDataError as e:
            log.error("layer files changed (%s) but do not load; still serving the data "
                      "loaded before.\n%s", ", ".join(changed), e)
            self.note(changed, loaded=False)
            return
        self.app.extensions["layer_store"] = store
        sync = self.app.extensions.get("layer_sync")  # PostGIS: write the new data there too
        if sync is not None:
            sync(store)
        log.info("reloaded the layers after a change of %s", ", ".join(changed))
        self.note(changed, loaded=True)

    def note(self, changed: list[str], loaded: bool) -> None:
        """The audit row of a reload (each server process reloads, and notes it, once)."""
        try:
            with accounts_transaction(self.app) as db:
                audit.record(db, audit.SYSTEM_ACTOR, "layers.reload", "layers",
                             ",".join(changed), {"changed": changed, "loaded": loaded,
                                                 "pid": os.getpid()})
        except Exception:  # the reload stands even when the log cannot be written
            log.exception("could not write the audit row of a reload")


def init_app(app: Flask, data_dir: Path) -> None:
    if not app.config.get("RELOAD_LAYERS", True):
        return
    reloader = LayerReloader(app, data_dir)
    app.extensions["layer_reloader"] = reloader
    app.before_request(reloader.check)
