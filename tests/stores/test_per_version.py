"""What follows from a layer's features alone is worked out once per layer version, not
per request (issue 18): extents, counts, the OGC temporal extent."""

import shapely

from layers.ogc import features as ogc
from layers.stores.layers import LoadedLayer


def test_listing_and_describing_layers_does_not_go_over_their_features(client, store,
                                                                       monkeypatch):
    calls = []
    real = shapely.total_bounds
    monkeypatch.setattr(shapely, "total_bounds", lambda *a, **k: calls.append(a) or real(*a, **k))
    listed = client.get("/api/layers").get_json()["layers"]
    described = client.get("/ogc/collections?f=json").get_json()["collections"]
    client.get("/ogc/collections/venues/items?f=json&bbox=116.9,36.6,117.0,36.7")
    assert calls == []
    venues = store.get("venues")
    assert next(x for x in listed if x["name"] == "venues")["count"] == len(venues)
    bbox = next(x for x in listed if x["name"] == "venues")["bbox"]
    expected = [round(v, 7) for v in real(venues.geometries).tolist()]
    assert bbox == expected
    spatial = next(c for c in described if c["id"] == "venues")["extent"]["spatial"]
    assert spatial["bbox"] == [expected]


def test_a_derived_figure_is_computed_once_per_layer_version(store):
    venues = store.get("venues")
    computed = []

    def figure(loaded: LoadedLayer) -> int:
        computed.append(loaded.name)
        return len(loaded) * 2

    fresh = LoadedLayer(layer=venues.layer, ids=venues.ids, features=venues.features,
                        geometries=venues.geometries, metric=venues.metric)
    assert fresh.once("test.figure", figure) == fresh.once("test.figure", figure) \
        == 2 * len(venues)
    assert computed == ["venues"]
    assert ogc.temporal_extent(fresh) is ogc.temporal_extent(fresh)
    # Another version (another LoadedLayer) works it out again.
    other = LoadedLayer(layer=venues.layer, ids=venues.ids[:3], features=venues.features[:3],
                        geometries=venues.geometries[:3], metric=venues.metric[:3])
    assert other.once("test.figure", figure) == 6
    assert computed == ["venues", "venues"]
    assert other.bbox == [round(v, 7) for v in
                          shapely.total_bounds(venues.geometries[:3]).tolist()]


def test_an_empty_layer_has_no_extent(store):
    venues = store.get("venues")
    empty = LoadedLayer(layer=venues.layer, ids=[], features=[],
                        geometries=venues.geometries[:0], metric=venues.metric[:0])
    assert empty.bbox is None and len(empty) == 0 and empty.in_bbox((116, 36, 118, 38)) == []
