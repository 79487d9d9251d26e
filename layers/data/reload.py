"""Follow the layers' versions in the database: every server serves a change made
through any server within about a second, without a restart.

A cheap check before requests: at most once a second per process, read the head
version of every layer (`layer_heads`, one small query). For each layer whose head
moved, bring it to that version (`VersionedLayers.advanced`: when the versions in
between are all edits' deltas, by applying them to the layer served, checking only the
features they wrote; else by loading the version whole, validated and indexed), and
swap a new layer store in with one assignment: a request sees the old layer or the new one,
never a mix. The files in DATA_DIR play no part (they only seed an empty database).
A process that made a change itself follows it at once (`refresh`). Set
RELOAD_LAYERS = False to serve the layers loaded at start-up until a restart.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

from layers.catalogue.validate import LayerDataError
from layers.stores.layers import LayerStore
from layers.stores.versions import VersionedLayers

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0


class LayerReloader:
    def __init__(self, app: Flask, history: VersionedLayers) -> None:
        self.app = app
        self.history = history
        self.interval = CHECK_INTERVAL_S
        self.checked = time.monotonic()
        self.lock = threading.Lock()
        # (layer, version) heads that did not load: not read again each second, only once
        # the head moves on (a version that no longer fits the catalogue stays unfit).
        self.unfit: set[tuple[str, int]] = set()

    def check(self) -> None:
        now = time.monotonic()
        if now - self.checked < self.interval:
            return
        if not self.lock.acquire(blocking=False):
            return  # another request is reloading; this one is served the current store
        try:
            self.checked = now
            self._follow()
        except Exception:  # the database may be away: keep serving what is loaded
            log.exception("could not check the layers' versions")
        finally:
            self.lock.release()

    def refresh(self) -> None:
        """Follow the heads now (after a change made by this process)."""
        with self.lock:
            self.checked = time.monotonic()
            self._follow()

    def _follow(self) -> None:
        heads = self.history.heads()
        store: LayerStore = self.app.extensions["layer_store"]
        for loaded in list(store):
            head = heads.get(loaded.name)
            if head is None or head == loaded.version or (loaded.name, head) in self.unfit:
                continue
            try:
                fresh = self.history.advanced(loaded, head)
            except LayerDataError as e:
                self.unfit.add((loaded.name, head))
                log.error("layer %s version %s does not load; still serving version %s.\n%s",
                          loaded.name, head, loaded.version, e)
                continue
            store = store.with_layer(fresh)
            self.app.extensions["layer_store"] = store
            log.info("now serving layer %s version %s (was %s)", loaded.name, head,
                     loaded.version)


def follow_now(app: Flask | None = None) -> None:
    """After a change in this process: serve it from the next request on."""
    app = app or current_app
    reloader: LayerReloader | None = app.extensions.get("layer_reloader")
    if reloader is not None:
        reloader.refresh()
    else:
        history: VersionedLayers = app.extensions["layer_history"]
        app.extensions["layer_store"] = history.store()


def init_app(app: Flask) -> None:
    if not app.config.get("RELOAD_LAYERS", True):
        return
    reloader = LayerReloader(app, app.extensions["layer_history"])
    app.extensions["layer_reloader"] = reloader
    app.before_request(reloader.check)
