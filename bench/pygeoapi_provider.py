"""pygeoapi feature provider over the huaishu LayerStore (experiment)."""
import functools, os
from pathlib import Path
from pygeoapi.provider.base import BaseProvider, ProviderItemNotFoundError
from pygeoapi.util import crs_transform
from layers.store import LayerStore

TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "date": "string", "list": "array"}

@functools.cache
def _store(directory):
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
    def query(self, offset=0, limit=10, resulttype='results', bbox=[], datetime_=None,
              properties=[], sortby=[], select_properties=[], skip_geometry=False, q=None, **kwargs):
        loaded = self.loaded
        positions = loaded.in_bbox(bbox) if bbox else range(len(loaded))
        feats = [loaded.features[i] for i in positions]
        if properties:
            feats = [f for f in feats if all(str(f["properties"].get(k)) == str(v) for k, v in properties)]
        matched = len(feats)
        page = [] if resulttype == "hits" else feats[offset:offset + limit]
        return {"type": "FeatureCollection", "features": [dict(f) for f in page],
                "numberMatched": matched, "numberReturned": len(page)}

    @crs_transform
    def get(self, identifier, **kwargs):
        pos = self.loaded.position(str(identifier))
        if pos is None:
            raise ProviderItemNotFoundError(f"item {identifier} not found")
        return dict(self.loaded.features[pos])
