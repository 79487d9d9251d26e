"""The layer store as a set of roles may see it (`Layer.roles` in the catalogue).

No Flask here: `web.get_store()` wraps the app's store in `VisibleLayers` for
the request's roles, so every route that lists, serves, exports or analyses
layers sees only those the user may see, and asking for another one by name is
401 (not logged in) or 403 (another role) rather than its data.
"""

from __future__ import annotations

from collections.abc import Iterator

from layers.catalogue.entries import ANONYMOUS, Layer
from layers.errors import Forbidden, Unauthorized
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer


def layer_visible(layer: Layer, roles: frozenset[str]) -> bool:
    return "admin" in roles or bool(layer.roles & roles)


class VisibleLayers:
    """A view of the layers (`Layers`): only those `roles` may see."""

    def __init__(self, store: Layers, roles: frozenset[str]):
        self._layers = {loaded.name: loaded for loaded in store
                        if layer_visible(loaded.layer, roles)}
        self._all = store
        self._roles = roles

    def get(self, name: str) -> LoadedLayer:
        if name not in self._layers and name in self._all.names():
            if ANONYMOUS in self._roles:
                raise Unauthorized(f"请先登录后查看图层 {name} (log in to see the layer {name}: "
                                   "/login)")
            raise Forbidden(f"当前账号无权查看图层 {name} (your role may not see the layer {name})")
        return self._all.get(name)  # UnknownLayer for a name no store has

    def __iter__(self) -> Iterator[LoadedLayer]:
        return iter(self._layers.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._layers)


def visible_store(store: Layers, roles: frozenset[str]) -> Layers:
    """`store` itself when every layer is visible (the usual case), else a view."""
    if all(layer_visible(loaded.layer, roles) for loaded in store):
        return store
    return VisibleLayers(store, roles)
