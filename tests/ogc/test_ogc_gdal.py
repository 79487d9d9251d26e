"""A real client: GDAL's OGC API - Features driver reads every collection from a live
server on loopback and gets the features of the files.

The server runs in a child process: pyogrio holds the GIL while GDAL waits for HTTP
answers, so a server thread of this process could never answer.
"""

import datetime as dt
import json

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from layers.catalogue.entries import CATALOGUE, get_layer
from tests.layerfiles import shipped


@pytest.fixture(scope="module")
def ogc_url(live_server_process):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")  # GDAL's curl must not use a proxy
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        yield f"OAPIF:{live_server_process.url}/ogc"


def plain(value):
    """A value as GDAL hands it over, in JSON terms."""
    if isinstance(value, np.ndarray | list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):  # GDAL takes date strings for dates
        return value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def test_gdal_lists_every_collection(ogc_url):
    layers = [str(name) for name, _ in pyogrio.list_layers(ogc_url)]
    assert layers == [layer.name for layer in CATALOGUE]


@pytest.mark.parametrize("name", [layer.name for layer in CATALOGUE])
def test_gdal_reads_the_features_of_the_file(ogc_url, name):
    # A small page size makes GDAL follow the next links through the larger layers.
    frame = pyogrio.read_dataframe(f"{ogc_url}/collections/{name}", PAGE_SIZE=40)
    features = shipped(name)
    assert frame["id"].tolist() == [f["id"] for f in features]
    assert frame.crs.equals("OGC:CRS84")  # lon/lat: the storageCrs
    fields = [f.name for f in get_layer(name).fields]
    for row, feature in zip(frame.to_dict("records"), features, strict=True):
        got = {k: plain(row[k]) for k in fields if k in row and row[k] is not None}
        expected = {k: v for k, v in feature["properties"].items() if v is not None}
        assert {k: v for k, v in got.items() if not (isinstance(v, float) and np.isnan(v))} \
            == expected, feature["id"]
        assert shapely.equals_exact(row["geometry"], shape(feature["geometry"]), 1e-7)


def test_gdal_asks_for_gauss_kruger(ogc_url, store):
    frame = pyogrio.read_dataframe(f"{ogc_url}/collections/parcels", CRS="EPSG:4548")
    assert frame.crs.to_epsg() == 4548
    metric = store.get("parcels").metric
    for got, expected in zip(frame.geometry, metric, strict=True):
        assert shapely.equals_exact(got, expected, 0.002)  # metres, x = easting


def test_gdal_filters_by_bbox(ogc_url, store):
    minx, miny, maxx, maxy = store.get("boundary").bbox
    midx = (minx + maxx) / 2
    frame = pyogrio.read_dataframe(f"{ogc_url}/collections/venues", bbox=(minx, miny, midx, maxy))
    expected = [f["id"] for f in shipped("venues")
                if f["geometry"]["coordinates"][0] <= midx]
    assert sorted(frame["id"]) == sorted(expected)


def test_the_openapi_document_is_what_gdal_reads(live_server_process):
    import urllib.request

    with urllib.request.urlopen(f"{live_server_process.url}/ogc/api") as response:
        document = json.load(response)
    items = document["paths"]["/ogc/collections/venues/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    # Core: a larger limit is served as the largest page, not refused (so no maximum)
    assert "maximum" not in limit["schema"] and "at most 10000" in limit["description"]
