"""A single-feature edit costs what it changes (issue 12): its version is a delta on its
parent (a whole copy every SNAPSHOT_EVERY versions), its fingerprint the head's
updated, and a server follows it by applying it. Reading any version gives the
features a whole copy would; on both stores."""

import json

import pytest

from layers.catalogue.entries import get_layer
from layers.catalogue.validate import validate_collection
from layers.data.edits import edit_feature
from layers.stores import versions as versions_module
from layers.stores.embedded.spatial import feature_attributes, point_tiles
from layers.stores.layers import build_layer
from layers.stores.versions import (
    LayerWriteFailed,
    OlderContent,
    fingerprint,
    mark,
    stored_feature,
)
from tests.conftest import make_app
from tests.layerfiles import INSIDE, copy_geodata, edits_app, shipped


def new_venue(name):
    return {"type": "Feature", "properties": {**shipped("venues")[0]["properties"], "name": name},
            "geometry": {"type": "Point", "coordinates": list(INSIDE)}}


def edit(app, operation, fid, body=None, base=None):
    return edit_feature(app.extensions["layer_history"], app.extensions["layer_store"],
                        "venues", operation, fid, body, base, "tester")


def parents(history, name="venues"):
    with history.reading() as db:
        return {v: p for v, p, _ in db.version_rows(name, 1, history.heads()[name], False)}


def fresh(features, version):
    """The layer a whole copy of `features` loads as."""
    layer = get_layer("venues")
    valid, problems = validate_collection(
        layer, {"type": "FeatureCollection", "features": features}, "test")
    assert not problems
    return build_layer(layer, valid, version)


def same_layer(a, b):
    assert a.version == b.version
    assert a.ids == b.ids
    assert a.features == b.features
    assert [g.wkb for g in a.metric] == [g.wkb for g in b.metric]
    assert [g.wkb for g in a.geometries] == [g.wkb for g in b.geometries]
    assert a.bbox == b.bbox


def some_edits(app):
    """An update, a create, a delete and a replace; the features expected after each."""
    ids = [f["id"] for f in shipped("venues")]
    expected = {1: shipped("venues")}
    made, _ = edit(app, "update", ids[0], {"type": "Feature", "properties": {"address": "新址 1"}})
    changed = [dict(f) for f in expected[1]]
    changed[0] = {**changed[0], "properties": {**changed[0]["properties"], "address": "新址 1"}}
    expected[made.version] = changed
    made, fid = edit(app, "create", None, new_venue("新开的小店"))
    expected[made.version] = [*changed, {"type": "Feature", "id": fid, **{
        k: v for k, v in new_venue("新开的小店").items() if k != "type"}}]
    made, _ = edit(app, "delete", ids[5])
    expected[made.version] = [f for f in expected[made.version - 1] if f["id"] != ids[5]]
    made, _ = edit(app, "replace", ids[7], new_venue("改名的店"))
    expected[made.version] = [
        {"type": "Feature", "id": ids[7], "properties": new_venue("改名的店")["properties"],
         "geometry": new_venue("改名的店")["geometry"]} if f["id"] == ids[7] else f
        for f in expected[made.version - 1]]
    return expected


def comparable(features):
    return [(f["id"], f["properties"], f["geometry"]) for f in features]


def test_edits_are_deltas_that_read_back_as_whole_copies(tmp_path, store_backend):
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    expected = some_edits(app)
    assert parents(history) == {1: None, 2: 1, 3: 2, 4: 3, 5: 4}
    for version, features in expected.items():
        number, got = history.features("venues", version)
        assert number == version
        assert comparable(got) == comparable(features)
        same_layer(history.loaded(get_layer("venues"), version), fresh(got, version))
        assert history.version("venues", version).fingerprint == mark(got)
    rows = [(v.version, v.added, v.removed, v.changed) for v in history.versions("venues")]
    assert rows[:4] == [(5, [], [], ["V0008"]), (4, [], ["V0006"], []),
                        (3, ["V0354"], [], []), (2, [], [], ["V0001"])]
    # The server that made the edits serves what a fresh load of the head serves.
    app.extensions["layer_reloader"].refresh()
    same_layer(app.extensions["layer_store"].get("venues"),
               fresh(history.features("venues")[1], 5))
    # The stored form of each served feature is the stored feature.
    served = app.extensions["layer_store"].get("venues")
    assert [stored_feature(served, i) for i in range(len(served))] == \
        history.features("venues")[1]


def test_an_edit_that_changes_nothing_makes_no_version(tmp_path, store_backend):
    app = edits_app(tmp_path)
    first = shipped("venues")[0]
    made, _ = edit(app, "update", first["id"], {"type": "Feature", "properties": {
        "name": first["properties"]["name"]}})
    assert made.version == 1 and app.extensions["layer_history"].heads()["venues"] == 1


def test_a_whole_copy_every_snapshot_every_versions(tmp_path, store_backend, monkeypatch):
    monkeypatch.setattr(versions_module, "SNAPSHOT_EVERY", 3)
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    expected = some_edits(app)
    assert parents(history) == {1: None, 2: 1, 3: 2, 4: None, 5: 4}
    for version, features in expected.items():
        assert comparable(history.features("venues", version)[1]) == comparable(features)
        got = history.loaded(get_layer("venues"), version)
        same_layer(got, fresh(history.features("venues", version)[1], version))


def test_a_follower_applies_the_deltas_and_serves_what_a_fresh_load_serves(
        tmp_path, store_backend, monkeypatch):
    db = tmp_path / "shared.sqlite"
    a = make_app(db, DATA_DIR=copy_geodata(tmp_path / "a"))
    b = make_app(db, DATA_DIR=copy_geodata(tmp_path / "b"))
    some_edits(a)
    b_history = b.extensions["layer_history"]
    loads = []
    real = b_history.loaded
    monkeypatch.setattr(b_history, "loaded", lambda *args: loads.append(args) or real(*args))
    b.extensions["layer_reloader"].refresh()
    assert loads == []  # four deltas applied, nothing loaded whole
    served = b.extensions["layer_store"].get("venues")
    same_layer(served, fresh(b_history.features("venues")[1], 5))
    # An import (a whole copy) after the edits: followed by loading it whole.
    history = a.extensions["layer_history"]
    features = [*history.features("venues")[1], {**new_venue("又一家"), "id": "V9999"}]
    history.commit(get_layer("venues"), features, "tester", "layer.import", "导入")
    edit(a, "update", "V9999", {"type": "Feature", "properties": {"address": "新址 2"}})
    b.extensions["layer_reloader"].refresh()
    assert [version for _, version in loads] == [7]  # the import whole, its delta applied
    same_layer(b.extensions["layer_store"].get("venues"),
               fresh(b_history.features("venues")[1], 7))


def test_a_restore_of_a_delta_version_and_imports_after_edits(tmp_path, store_backend):
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    layer = get_layer("venues")
    expected = some_edits(app)
    restored = history.restore(layer, 3, "tester")
    assert restored.version == 6 and parents(history)[6] is None
    assert history.features("venues", 6)[1] == history.features("venues", 3)[1]
    assert (restored.added, restored.removed) == (["V0006"], [])
    assert restored.fingerprint == history.version("venues", 3).fingerprint
    # An import of the head's content changes nothing; of an older version's, is refused.
    head = history.features("venues")[1]
    assert history.commit(layer, head, "tester", "layer.import", "导入") is None
    with pytest.raises(OlderContent) as refused:
        history.commit(layer, history.features("venues", 5)[1], "tester", "layer.import",
                       "导入")
    assert refused.value.same_as == 5
    assert comparable(history.features("venues", 5)[1]) == comparable(expected[5])


def test_a_database_of_whole_copies_with_the_old_fingerprints_keeps_working(
        tmp_path, store_backend):
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    layer = get_layer("venues")
    features = history.features("venues")[1]
    # As the service wrote versions before deltas: a whole copy, a sha256 fingerprint.
    with history.writing() as db:
        db.db.execute("UPDATE layer_versions SET fingerprint = ? WHERE layer = 'venues'"
                      .replace("?", "?" if store_backend == "sqlite" else "%s"),
                      (fingerprint(features),))
    assert history.commit(layer, features, "tester", "layer.import", "导入") is None
    made, _ = edit(app, "update", features[0]["id"],
                   {"type": "Feature", "properties": {"address": "新址"}})
    assert parents(history)[made.version] == 1
    assert made.fingerprint == mark(history.features("venues")[1])
    with pytest.raises(OlderContent) as refused:  # the old fingerprint is still found
        history.commit(layer, features, "tester", "layer.import", "导入")
    assert refused.value.same_as == 1


def test_an_edit_that_fails_to_commit_leaves_the_old_version_whole(
        tmp_path, store_backend, monkeypatch):
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    before = history.features("venues")
    with history.writing() as db:
        tables = type(db)

    def lost(self, loaded, delta=None):
        raise OSError("disk full")

    monkeypatch.setattr(tables, "write_current", lost)
    with pytest.raises(LayerWriteFailed):
        edit(app, "update", before[1][0]["id"], {"type": "Feature", "properties": {
            "address": "新址"}})
    assert history.features("venues") == before
    assert parents(history) == {1: None}
    assert "venues" not in history.just_made()
    assert app.extensions["layer_store"].get("venues").version == 1


def test_postgis_writes_only_the_changed_rows_and_keeps_ord_the_position(
        tmp_path, postgis_only):
    app = edits_app(tmp_path)
    some_edits(app)
    app.extensions["layer_reloader"].refresh()
    served = app.extensions["layer_store"].get("venues")
    with app.extensions["database"].transaction() as db:
        rows = db.execute("SELECT id, ord, feature FROM layer_venues ORDER BY ord").fetchall()
    assert [(fid, i) for fid, i, _ in rows] == [(fid, i) for i, fid in enumerate(served.ids)]
    assert [json.loads(text) for _, _, text in rows] == \
        json.loads(json.dumps(served.features))


def test_an_edit_of_properties_shares_the_indexes_a_move_rebuilds_them(tmp_path):
    app = edits_app(tmp_path)
    history = app.extensions["layer_history"]
    before = app.extensions["layer_store"].get("venues")
    first = before.ids[0]
    points = point_tiles(before)
    edit(app, "update", first, {"type": "Feature", "properties": {"address": "新址"}})
    after = history.just_made()["venues"]
    assert after.tree is before.tree and after.clusters is before.clusters
    assert point_tiles(after) is points  # the tiles' point index too
    assert ("address", "新址", False) in feature_attributes(after, [0])[0]  # not the old's
    assert after.features[0]["properties"]["address"] == "新址"
    assert before.features[0]["properties"]["address"] != "新址"  # the old one unchanged
    edit(app, "update", first, {"type": "Feature", "geometry": {
        "type": "Point", "coordinates": list(INSIDE)}})
    moved = history.just_made()["venues"]
    assert moved.tree is not after.tree and moved.clusters is not after.clusters
    assert point_tiles(moved) is not points
    same_layer(moved, fresh(history.features("venues")[1], 3))
    assert 0 in moved.in_bbox([INSIDE[0] - 1e-5, INSIDE[1] - 1e-5,
                               INSIDE[0] + 1e-5, INSIDE[1] + 1e-5])
