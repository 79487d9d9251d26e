"""Time the OGC API items query in-process (WSGI, no sockets): ours, and pygeoapi's.

    .venv/bin/python bench/ogc_items.py            # the app's own /ogc
    PYTHON_WITH_PYGEOAPI bench/ogc_items.py --pygeoapi [--pygeoapi-provider GeoJSON]

The second form needs pygeoapi installed (it is not a dependency of the app; use
a separate venv that can also import this project): it serves the same store
through pygeoapi's Flask app with the provider in bench/pygeoapi_provider.py,
so that the two figures differ only by the API layer; `--pygeoapi-provider GeoJSON`
uses pygeoapi's own GeoJSON provider (which re-reads the file per request). Prints the median of
REPEAT requests per query, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

REPEAT = 200
QUERIES = (
    "grid/items?limit=100",
    "garbage/items?limit=10",
    "garbage/items?limit=1000",
    "garbage/items?limit=50&bbox=116.955,36.665,116.962,36.672",
    "garbage/items?limit=50&community=%E8%A3%95%E5%9B%AD%E7%A4%BE%E5%8C%BA",
    "garbage/items/G050",
    "venues/items?limit=10",
    "venues/items?limit=1000",
    "venues/items?limit=50&bbox=116.955,36.665,116.962,36.672",
)


def our_client():
    from server import create_app

    db = Path(tempfile.mkdtemp()) / "inspections.sqlite"
    return create_app({"INSPECTIONS_DB": db, "TODAY": "2026-11-25"}).test_client(), "/ogc"


def pygeoapi_client(provider: str):
    work = Path(tempfile.mkdtemp())
    config, openapi = work / "config.yml", work / "openapi.yml"
    write_pygeoapi_config(config, provider)
    os.environ["PYGEOAPI_CONFIG"], os.environ["PYGEOAPI_OPENAPI"] = str(config), str(openapi)
    from pygeoapi.openapi import generate_openapi_document

    # The ignore is used where pygeoapi is installed (its own venv), unused elsewhere.
    openapi.write_text(generate_openapi_document(config, "yaml"))  # type: ignore[arg-type, unused-ignore]
    from pygeoapi.flask_app import APP

    return APP.test_client(), ""


def write_pygeoapi_config(path: Path, provider: str) -> None:
    import yaml

    from layers.catalogue.entries import CATALOGUE
    from layers.ogc.features import SUPPORTED_CRS

    host = "http://127.0.0.1"
    resources = {
        layer.name: {
            "type": "collection", "title": layer.title,
            "description": layer.description or layer.title, "keywords": [layer.group],
            "extents": {"spatial": {"bbox": [116.9, 36.6, 117.0, 36.7],
                                    "crs": next(iter(SUPPORTED_CRS))}},
            "providers": [{"type": "feature", "name": provider,
                           "data": str(ROOT / "geodata" / layer.file_name), "id_field": "id",
                           "crs": list(SUPPORTED_CRS)}],
        }
        for layer in CATALOGUE
    }
    contact = {"name": "bench", "email": "bench@example.org", "url": host,
               "role": "pointOfContact"}
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": 5000}, "url": host,
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
                   "languages": ["en-US"], "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": f"{host}/tiles/{{z}}/{{x}}/{{y}}.png", "attribution": "none"}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "bench", "description": "bench",
                                        "keywords": ["bench"], "keywords_type": "theme",
                                        "terms_of_service": "none", "url": host},
                     "license": {"name": "none", "url": host},
                     "provider": {"name": "bench", "url": host}, "contact": contact},
        "resources": resources,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pygeoapi", action="store_true")
    parser.add_argument("--pygeoapi-provider", default="pygeoapi_provider.StoreProvider")
    args = parser.parse_args()
    if args.pygeoapi:
        client, prefix = pygeoapi_client(args.pygeoapi_provider)
        print(f"pygeoapi with {args.pygeoapi_provider}", end="")
    else:
        client, prefix = our_client()
        print("hand-written /ogc", end="")
    print(f": median of {REPEAT} in-process requests")
    for q in QUERIES:
        url = f"{prefix}/collections/{q}"
        headers = {"Accept": "application/geo+json"}
        first = client.get(url, headers=headers)
        assert first.status_code == 200, (url, first.status_code, first.data[:200])
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - t)
        print(f"  {q:72s} {statistics.median(times) * 1000:6.2f} ms  {len(first.data):7d} B")


if __name__ == "__main__":
    main()
