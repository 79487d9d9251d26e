"""The PostGIS store: the same answers as the embedded store, through its indexes,
seeded once from the files, and set up by the `flask db` commands."""

import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import psycopg
import pytest

from bench.production import ProductionServer
from bench.synthetic import write_data_dir
from layers.records.users import Accounts
from layers.stores.postgis.database import LAYER_NAMES, Database, PostgisError, redact
from layers.stores.postgis.schema import METRIC_SRID
from layers.stores.postgis.spatial import PostgisSpatial
from layers.stores.postgis.users import PostgisAccounts
from server import create_app
from tests.conftest import TODAY, make_app
from tests.layerfiles import copy_geodata


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgis_cluster):
    """An embedded app and a PostGIS app over the same data."""
    root = tmp_path_factory.mktemp("both")
    embedded = make_app(root / "embedded.sqlite")
    url = postgis_cluster.create_database()  # empty: this app creates and loads it all
    database_app = make_app(root / "pg.sqlite", DATABASE_URL=url)
    yield embedded.test_client(), database_app.test_client(), database_app
    database_app.extensions["database"].close()


def random_points(client, n, seed):
    minx, miny, maxx, maxy = client.get("/api/layers").get_json()["layers"][0]["bbox"]
    rng = random.Random(seed)
    pad = 0.003  # a little outside the boundary, too
    return [(round(rng.uniform(minx - pad, maxx + pad), 6),
             round(rng.uniform(miny - pad, maxy + pad), 6)) for _ in range(n)]


@pytest.mark.parametrize("layer", ["venues", "garbage", "parking"])
def test_nearby_answers_are_the_same(both, layer):
    embedded, database, _ = both
    found = 0
    extras = ["&limit=500", "&limit=3", "&limit=1&radius_m=300",  # KNN cuts at the limit
              "&limit=4&offset=6", "&offset=30"]  # and after the offset
    extras += {"venues": ["&kind=九小场所&limit=5&offset=2", "&status=overdue,hazard&limit=4",
                          "&status=overdue,hazard&limit=2&offset=1"],
               "parking": ["&kind=公共停车场&limit=2&offset=1"]}.get(layer, [])
    for i, (lon, lat) in enumerate(random_points(embedded, 15, seed=len(layer))):
        query = (f"/api/nearby?lon={lon}&lat={lat}&layer={layer}&radius_m=800"
                 + extras[i % len(extras)])
        a, b = embedded.get(query).get_json(), database.get(query).get_json()
        assert b["total"] == a["total"]
        assert [f["id"] for f in b["features"]] == [f["id"] for f in a["features"]]
        for fa, fb in zip(a["features"], b["features"], strict=True):
            assert fb["geometry"] == fa["geometry"]
            assert fb["properties"]["distance_m"] == pytest.approx(
                fa["properties"]["distance_m"], rel=1e-6, abs=0.11)
            assert fb["properties"]["bearing_deg"] == pytest.approx(
                fa["properties"]["bearing_deg"], abs=0.11)
        found += len(a["features"])
    assert found > 20  # the points are where the features are


@pytest.mark.parametrize(("layer", "size"), [("venues", 9), ("parking", 3)])
def test_offset_pages_are_the_full_list_in_both_stores(both, layer, size):
    """Pages fetched one after another (as the inspectors' page loads more) are the
    nearest-first list of everything within the radius, once each, in either store."""
    embedded, database, _ = both
    base = f"/api/nearby?lon=116.9640&lat=36.6620&layer={layer}&radius_m=5000"
    for client in (embedded, database):
        full = client.get(base + "&limit=500").get_json()
        assert full["total"] == len(full["features"]) > size
        got: list = []
        while len(got) < full["total"]:
            page = client.get(f"{base}&limit={size}&offset={len(got)}").get_json()
            assert page["total"] == full["total"] and page["features"]
            got += page["features"]
        assert [f["id"] for f in got] == [f["id"] for f in full["features"]]
        assert client.get(f"{base}&offset={len(got)}").get_json()["features"] == []


def test_bbox_locate_and_features_are_the_same(both):
    embedded, database, _ = both
    seen = {"bbox": 0, "inside": 0, "outside": 0}
    for lon, lat in random_points(embedded, 12, seed=3):
        box = f"{lon - 0.004},{lat - 0.003},{lon + 0.004},{lat + 0.003}"
        for layer in ("venues", "communities", "roads", "parcels"):
            url = f"/api/layers/{layer}?bbox={box}"
            expected = embedded.get(url).get_json()
            assert database.get(url).get_json() == expected
            seen["bbox"] += len(expected["features"])
        url = f"/api/locate?lon={lon}&lat={lat}"
        a, b = embedded.get(url).get_json(), database.get(url).get_json()
        if a["distance_to_boundary_m"] is not None:
            assert b["distance_to_boundary_m"] == pytest.approx(a["distance_to_boundary_m"],
                                                               abs=0.11)
            a["distance_to_boundary_m"] = b["distance_to_boundary_m"]
        assert b == a
        seen["inside" if a["inside"] else "outside"] += 1
    assert all(seen.values()), seen
    venue = embedded.get("/api/layers/venues").get_json()["features"][7]["id"]
    for url in (f"/api/venues/{venue}/history", f"/ogc/collections/venues/items/{venue}?f=json"):
        a, b = embedded.get(url).get_json(), database.get(url).get_json()
        a.pop("links", None), b.pop("links", None)
        for record in a.get("inspections", []) + b.get("inspections", []):
            record.pop("recorded_at", None)  # when each store was seeded: seconds apart
        assert b == a


class RecordingSpatial(PostgisSpatial):
    """The app's PostGIS spatial store, keeping each query it runs with its parameters."""

    def __init__(self, database):
        super().__init__(database, LAYER_NAMES)
        self.ran = []

    def _rows(self, db, query, params):
        self.ran.append((query, params))
        return super()._rows(db, query, params)


CITY_VENUES = 5000
CITY_POINT = (117.02, 36.65)  # in central Jinan, away from the shipped venues


@pytest.fixture(scope="module")
def city(tmp_path_factory, postgis_cluster):
    """An app on PostGIS over central Jinan with 5000 venues (bench/synthetic.py): a
    table large enough that the planner itself picks an index when one serves."""
    root = tmp_path_factory.mktemp("city")
    data_dir = write_data_dir(root / "geodata", CITY_VENUES, extent="jinan")
    url = postgis_cluster.create_database()
    app = make_app(root / "i.sqlite", DATA_DIR=data_dir, DATABASE_URL=url)
    recording = RecordingSpatial(app.extensions["database"])
    app.extensions["spatial"] = recording
    yield app.test_client(), recording, url
    app.extensions["database"].close()


def queries_of(client, recording, *urls):
    """The queries, with their parameters, the store ran to answer GET `urls`."""
    recording.ran.clear()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
    assert recording.ran
    return list(recording.ran)


class Plan:
    """What PostgreSQL did to run a query (EXPLAIN ANALYZE): the indexes it used, whether
    an index gave the KNN order, and how many rows of the venues it read."""

    def __init__(self, document):
        self.text = json.dumps(document, indent=1)
        self.nodes = []
        pending = [document[0]["Plan"]]
        while pending:
            node = pending.pop()
            self.nodes.append(node)
            pending.extend(node.get("Plans", ()))
        self.indexes = sorted({n["Index Name"] for n in self.nodes if "Index Name" in n})
        self.seq_scan = any(n["Node Type"] == "Seq Scan" for n in self.nodes)
        self.knn = any("<->" in n.get("Order By", "") for n in self.nodes)  # index scans only
        self.rows_read = sum(
            n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0)
            + n.get("Rows Removed by Index Recheck", 0)
            for n in self.nodes if n.get("Relation Name") == "layer_venues")


def test_the_stores_own_queries_use_the_gist_indexes(city):
    """EXPLAIN ANALYZE what the store runs for nearby, bbox and locate, with the parameters
    of the request: on a table of thousands of rows the planner picks the GiST index by
    itself (nothing is switched off), the nearest come in KNN order from it, and each
    query reads a few rows, never the table."""
    client, recording, url = city
    lon, lat = CITY_POINT
    box = f"{lon - 0.004},{lat - 0.003},{lon + 0.004},{lat + 0.003}"
    nearby = f"/api/nearby?layer=venues&lon={lon}&lat={lat}&radius_m=800"
    nearest = queries_of(client, recording, nearby + "&limit=5")
    filtered = queries_of(client, recording, nearby + "&status=due,overdue&limit=4")
    bbox = queries_of(client, recording, f"/api/layers/venues?bbox={box}",
                      f"/ogc/collections/venues/items?bbox={box}&f=json")
    # locate reads the communities, the grid and the boundary (inside, then outside):
    # a few rows each, which the planner rightly reads whole. Its SQL is the same for
    # every layer, so it is planned here on the venues table.
    locate = queries_of(client, recording, "/api/locate?lon=116.965&lat=36.67",
                        "/api/locate?lon=117.3&lat=36.66")
    # A connection of its own: nothing it does touches the app's pool.
    with psycopg.connect(url, autocommit=True) as conn:
        def explain(query, params, table=None):
            text = query.as_string(conn)
            if table is not None:
                assert f'"{table}"' in text
                text = text.replace(f'"{table}"', '"layer_venues"')
            return Plan(conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {text}",
                                     params).fetchone()[0])

        nearest = [explain(*q) for q in nearest]
        filtered = [explain(*q) for q in filtered]
        bbox = [explain(*q) for q in bbox]
        locate = [explain(*q, table=f"layer_{layer}") for q, layer in zip(
            locate, ["communities", "grid", "boundary"] * 2 + ["boundary"], strict=True)]
        gist = set(conn.execute("SELECT tablename, indexname FROM pg_indexes"
                                " WHERE indexdef LIKE '%USING gist (geom%'").fetchall())
    for plan in nearest + filtered + bbox + locate:
        assert not plan.seq_scan and plan.indexes, plan.text
        assert plan.rows_read < CITY_VENUES / 20, plan.text
    # nearby: the count and the ring by ST_DWithin on the metric GiST index, the nearest
    # in KNN order (`<->`) from it, then the features by id.
    assert len(nearest) == 4
    for plan in nearest[:3]:
        assert "layer_venues_geom" in plan.indexes, plan.text
    assert nearest[2].knn, nearest[2].text
    assert nearest[3].indexes == ["layer_venues_pkey"]
    assert len(filtered) == 2 and filtered[0].indexes == ["layer_venues_geom"]
    for plan in bbox:
        assert plan.indexes == ["layer_venues_geom_wgs84"], plan.text
    # locate: containing, three times inside and three outside; then, outside, the
    # distance to the boundary measured to its nearest few in KNN order.
    assert len(locate) == 7
    for plan in locate:
        assert plan.indexes == ["layer_venues_geom"], plan.text
    assert locate[-1].knn, locate[-1].text
    # and every layer's table has both indexes.
    assert gist == {(f"layer_{name}", f"layer_{name}_{column}")
                    for name in LAYER_NAMES for column in ("geom", "geom_wgs84")}


def test_st_dwithin_measures_metres(city):
    """The geometry the store filters is in EPSG:4548 (metres), and what it counts and
    finds within a radius is what the geodesic distance on the ellipsoid says."""
    client, _, url = city
    lon, lat = CITY_POINT
    with psycopg.connect(url) as conn:
        srid, srtext = conn.execute(
            "SELECT srid, srtext FROM spatial_ref_sys"
            " WHERE srid = Find_SRID('public', 'layer_venues', 'geom')").fetchone()
        exact = conn.execute(
            "SELECT id, ST_Distance(geom_wgs84::geography, ST_SetSRID(ST_MakePoint(%s, %s),"
            " 4326)::geography) AS d FROM layer_venues ORDER BY d", (lon, lat)).fetchall()
    assert srid == METRIC_SRID == 4548
    assert srtext.rsplit("UNIT[", 1)[1].startswith('"metre",1')
    for radius in (800, 2000):
        got = client.get(f"/api/nearby?layer=venues&lon={lon}&lat={lat}&radius_m={radius}"
                         "&limit=10").get_json()
        within = [(fid, d) for fid, d in exact if d <= radius]
        assert 5 < len(within) < CITY_VENUES  # not degrees: those would take them all
        assert got["total"] == len(within)
        assert [f["id"] for f in got["features"]] == [fid for fid, _ in within[:10]]
        for feature, (_, d) in zip(got["features"], within, strict=False):
            assert feature["properties"]["distance_m"] == pytest.approx(d, abs=0.11)


def test_the_database_is_the_truth_and_files_only_seed_it(postgis_cluster, tmp_path):
    data_dir = copy_geodata(tmp_path / "geodata")
    url = postgis_cluster.create_database()
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir, DATABASE_URL=url)
    database = app.extensions["database"]
    store = app.extensions["layer_store"]
    with database.transaction() as db:
        heads = dict(db.execute("SELECT layer, version FROM layer_heads").fetchall())
        parking_rows = db.execute("SELECT count(*) FROM layer_parking").fetchone()[0]
    assert heads == {layer.name: 1 for layer in store}  # seeded: version 1 of each
    assert parking_rows == 8
    # Another server starts with other files: it writes nothing, it serves the database.
    parking = json.loads((data_dir / "parking.geojson").read_text(encoding="utf-8"))
    parking["features"] = parking["features"][:3]
    (data_dir / "parking.geojson").write_text(json.dumps(parking, ensure_ascii=False),
                                              encoding="utf-8")
    second = create_app({"TESTING": True, "TODAY": TODAY, "DATA_DIR": data_dir,
                         "INSPECTIONS_DB": tmp_path / "i.sqlite", "DATABASE_URL": url})
    try:
        assert len(second.extensions["layer_store"].get("parking")) == 8
        with database.transaction() as db:
            assert db.execute("SELECT count(*) FROM layer_parking").fetchone()[0] == 8
            assert db.execute("SELECT max(version) FROM layer_versions").fetchone()[0] == 1
    finally:
        second.extensions["database"].close()


def test_a_new_version_rewrites_the_layer_table_for_every_server(postgis_cluster, tmp_path):
    data_dir = copy_geodata(tmp_path / "geodata")
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir,
                   DATABASE_URL=postgis_cluster.create_database())
    first = json.loads((data_dir / "garbage.geojson").read_text(encoding="utf-8"))["features"][0]
    source = tmp_path / "garbage.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [first]},
                                 ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["layers", "import", str(source),
                                                "--layer", "garbage"])
    assert result.exit_code == 0, result.output
    lon, lat = first["geometry"]["coordinates"]
    got = app.test_client().get(f"/api/nearby?layer=garbage&lon={lon}&lat={lat}&radius_m=5000")
    assert [f["id"] for f in got.get_json()["features"]] == [first["id"]]


def test_db_commands(postgis_cluster, tmp_path, monkeypatch):
    url = postgis_cluster.create_database()
    monkeypatch.setenv("HUAISHU_DATABASE_URL", url)
    monkeypatch.setenv("HUAISHU_INSPECTIONS_DB", str(tmp_path / "unused.sqlite"))
    app = create_app({"TESTING": True})
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "init"])
        assert result.exit_code == 0, result.output
        assert "PostGIS ready (schema made; layers seeded" in result.output
        assert "venues" in result.output and "(version 1," in result.output
        assert "inspections" in result.output
        result = runner.invoke(args=["db", "load"])
        assert result.output.strip() == ("every layer file matches its layer's current version;"
                                         " nothing written")
        result = runner.invoke(args=["db", "backup", str(tmp_path / "b.sqlite")])
        assert result.exit_code != 0 and "pg_dump" in result.output
    finally:
        app.extensions["database"].close()


def test_db_commands_without_a_database(tmp_path):
    app = make_app(tmp_path / "i.sqlite")
    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.exit_code != 0
    assert "set HUAISHU_DATABASE_URL" in result.output


def test_an_unreachable_database_stops_the_start_with_a_message(tmp_path):
    with pytest.raises(PostgisError, match="cannot connect to DATABASE_URL"):
        create_app({"TESTING": True, "INSPECTIONS_DB": tmp_path / "i.sqlite",
                    "DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"})
    with pytest.raises(ValueError, match="must start with postgresql://"):
        create_app({"TESTING": True, "INSPECTIONS_DB": tmp_path / "i.sqlite",
                    "DATABASE_URL": "mysql://x"})


def test_the_password_is_not_shown():
    assert redact("postgresql://app:s3cret@db:5432/huaishu") == \
        "postgresql://app:***@db:5432/huaishu"


def test_nul_in_a_path_is_a_client_error(client):
    assert client.get("/api/venues/a%00b/history").status_code == 404
    assert client.post("/api/hazards/a%00b/status", json={"status": "整改中"}).status_code in (
        401, 400, 404)


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def _csrf_token(opener, base_url):
    with opener.open(base_url + "/api/csrf", timeout=30) as response:
        return json.loads(response.read())["csrf_token"]


def _post_json(opener, url, payload, token):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-CSRFToken": token})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_two_production_servers_share_one_postgis(postgis_cluster, tmp_path):
    """Two gunicorn servers (preload_app: the app is built before the fork), two workers
    each, on one database: a login made on one is valid on the other, and inspections
    recorded through both at once get distinct ids that both servers show."""
    url = postgis_cluster.create_database()
    config = {"TODAY": TODAY, "DATABASE_URL": url, "SECRET_KEY": "shared-by-the-servers",
              "DATABASE_POOL_SIZE": "3", "SESSION_COOKIE_SECURE": "false"}
    with ProductionServer(tmp_path / "a.sqlite", workers=2, threads=4, config=config) as a, \
            ProductionServer(tmp_path / "b.sqlite", workers=2, threads=4, config=config) as b:
        database = Database(url).open()
        try:
            Accounts(PostgisAccounts(database)).create("zhangwei", "an inspector's pw", "inspector")
        finally:
            database.release()
        opener = _opener()
        login = urllib.parse.urlencode({"name": "zhangwei", "password": "an inspector's pw",
                                        "csrf_token": _csrf_token(opener, a.url)})
        with opener.open(a.url + "/login", data=login.encode(), timeout=30) as response:
            assert "/login" not in response.url  # logged in: sent on to the app
        with opener.open(b.url + "/api/me", timeout=30) as response:  # and on the other server
            assert json.loads(response.read())["user"]["name"] == "zhangwei"
        token = _csrf_token(opener, b.url)  # the session's token, valid on both servers
        with urllib.request.urlopen(a.url + "/api/layers/venues", timeout=30) as response:
            venues = [f["id"] for f in json.loads(response.read())["features"][:24]]
        results: list[tuple[int, dict]] = []

        def record(server, venue_id):
            results.append(_post_json(opener, server.url + "/api/inspections", {
                "venue_id": venue_id, "inspector": "张伟", "result": "合格"}, token))

        threads = [threading.Thread(target=record, args=(a if i % 2 else b, v))
                   for i, v in enumerate(venues)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [status for status, _ in results] == [201] * len(venues), results[:2]
        ids = {body["inspection"]["id"] for _, body in results}
        assert len(ids) == len(venues)
        for server in (a, b):
            with urllib.request.urlopen(server.url + "/api/layers/venues", timeout=30) as r:
                last = {f["id"]: f["properties"]["last_inspection"]
                        for f in json.loads(r.read())["features"]}
            assert all(last[v] == TODAY for v in venues)


def test_ids_in_bbox_are_the_in_bbox_features_in_both_stores(both):
    """What the OGC items query asks of the store for a bbox: the ids alone, the same as
    the features' and the same in both stores."""
    embedded, _, database_app = both
    stores = [embedded.application.extensions["spatial"], database_app.extensions["spatial"]]
    found = 0
    for lon, lat in random_points(embedded, 12, seed=5):
        box = (lon - 0.004, lat - 0.003, lon + 0.004, lat + 0.003)
        for layer in ("venues", "communities", "roads"):
            ids = [f["id"] for f in stores[0].in_bbox(layer, box)]
            for spatial in stores:
                assert spatial.ids_in_bbox(layer, box) == ids
                assert [f["id"] for f in spatial.in_bbox(layer, box)] == ids
            found += len(ids)
    assert found


def test_a_glance_reads_outside_a_transaction_and_leaves_the_pool_as_it_was(postgis_cluster):
    database = Database(postgis_cluster.create_database(), pool_size=1)
    idle, in_transaction = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
    try:
        with database.glance() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.transaction_status == idle  # no BEGIN was sent
        with database.transaction() as conn:  # the same connection (a pool of one)
            conn.execute("SELECT 1")
            assert conn.info.transaction_status == in_transaction
        with pytest.raises(psycopg.errors.UndefinedTable), database.glance() as conn:
            conn.execute("SELECT * FROM no_such_table")
        with database.transaction() as conn:
            conn.execute("SELECT 1")
            assert conn.info.transaction_status == in_transaction
    finally:
        database.close()


def test_the_hot_reads_open_no_transaction(both, monkeypatch):
    """OGC items by bbox, /api/layers?bbox= and nearby read the layer tables and the
    venues' statuses by `glance` (each statement its own round trip, no BEGIN/COMMIT)."""
    _, database, database_app = both
    db = database_app.extensions["database"]
    box = "116.955,36.665,116.962,36.672"
    urls = [f"/ogc/collections/venues/items?bbox={box}&limit=20&f=json",
            f"/api/layers/venues?bbox={box}",
            "/api/nearby?lon=116.958&lat=36.668&radius_m=500&limit=5"]
    for url in urls:  # the first requests may read the layers' versions (transactions)
        database.get(url)
    used = {"transaction": 0, "glance": 0}

    def counting(name):
        real = getattr(db, name)

        def counted(*args, **kwargs):
            used[name] += 1
            return real(*args, **kwargs)
        return counted

    for name in used:
        monkeypatch.setattr(db, name, counting(name))
    reloader = database_app.extensions.get("layer_reloader")
    if reloader is not None:  # its check of the layers' versions, once a second, is not timed
        monkeypatch.setattr(reloader, "interval", 3600)
    for url in urls:
        response = database.get(url)
        assert response.status_code == 200 and response.get_json()["features"], url
    assert used["transaction"] == 0 and used["glance"] >= 2 * len(urls), used
