"""A pygeoapi feature provider over the app's LayerStore (for bench/ogc_items.py only).

It answers from the same in-memory store, STRtree and all, that the app's own
/ogc uses, so that timing the two compares the API layers and nothing else.
"""

import functools
from pathlib import Path

from pygeoapi.provider.base import BaseProvider, ProviderItemNotFoundError
from pygeoapi.util import crs_transform

from layers.stores.layers import LayerStore

TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
         "date": "string", "list": "array"}


@functools.cache
def _store(directory: str) -> LayerStore:
    return LayerStore.from_directory(Path(directory))


class StoreProvider(BaseProvider):
    def __init__(self, provider_def):
        super().__init__(provider_def)
        path = Path(self.data)
        self.loaded = _store(str(path.parent)).get(path.stem)
        self.get_fields()

    def get_fields(self):
        if not self._fields:
            self._fields = {f.name: {"type": TYPES[f.type]} for f in self.loaded.layer.fields}
        return self._fields

    @crs_transform
    def query(self, offset=0, limit=10, resulttype="results", bbox=(), datetime_=None,
              properties=(), sortby=(), select_properties=(), skip_geometry=False, q=None,
              **kwargs):
        loaded = self.loaded
        positions = loaded.in_bbox(bbox) if bbox else range(len(loaded))
        features = [loaded.features[i] for i in positions]
        if properties:
            features = [f for f in features
                        if all(str(f["properties"].get(k)) == str(v) for k, v in properties)]
        page = [] if resulttype == "hits" else features[offset:offset + limit]
        return {"type": "FeatureCollection", "features": [dict(f) for f in page],
                "numberMatched": len(features), "numberReturned": len(page)}

    @crs_transform
    def get(self, identifier, **kwargs):
        position = self.loaded.position(str(identifier))
        if position is None:
            raise ProviderItemNotFoundError(f"item {identifier} not found")
        return dict(self.loaded.features[position])
