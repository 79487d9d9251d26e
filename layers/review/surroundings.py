"""What lies within a chosen distance of a parcel or project site.

Every query runs in metres (EPSG:4548) through the layer store's STRtrees:
`dwithin` finds the features whose distance to the site is at most the chosen
distance, exactly (no polygonal buffer in the test). The buffer polygon is
only used for the share of each community's area that lies within reach,
from which the homes affected are estimated.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import shapely
from shapely import Geometry, STRtree

from layers.catalogue.entries import get_layer
from layers.errors import NotFound
from layers.geo.crs import to_wgs84
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer
from layers.web import params

SITE_LAYERS = ("parcels", "projects")
DEFAULT_DISTANCE_M = 300.0
MIN_DISTANCE_M = 10.0
MAX_DISTANCE_M = 1000.0
MAIN_ROAD_KIND = "主干路"
BUFFER_QUAD_SEGS = 32  # segments per quarter circle of the buffer (area error < 0.1 %)

HOUSEHOLDS_NOTE = ("受影响户数为估算:各社区户数按该社区在范围内(不含地块本身)"
                   "的面积占社区面积的比例折算,假定住户在社区内均匀分布。")


def parse_distance(text: str | None) -> float:
    """The distance in metres from a query parameter: 300 by default, 10 to 1000."""
    return params.number(text, "distance", default=DEFAULT_DISTANCE_M, minimum=MIN_DISTANCE_M,
                         maximum=MAX_DISTANCE_M, unit="metres")


class Surroundings:
    """Queries around sites; built once per layer store (it indexes the main roads)."""

    def __init__(self, store: Layers):
        self.store = store
        roads = store.get("roads")
        self._main_roads = np.array(
            [i for i, f in enumerate(roads.features)
             if f["properties"]["kind"] == MAIN_ROAD_KIND], dtype=int)
        self._main_road_tree = STRtree(roads.metric[self._main_roads])

    def site(self, layer_name: str, feature_id: str) -> tuple[LoadedLayer, int]:
        """The site layer and the feature's position; NotFound otherwise."""
        if layer_name not in SITE_LAYERS:
            raise NotFound(f"只有{'和'.join(SITE_LAYERS)}可查周边 (surroundings are given for "
                           f"{' and '.join(SITE_LAYERS)}, not {layer_name!r})")
        loaded = self.store.get(layer_name)
        position = loaded.position(feature_id)
        if position is None:
            raise NotFound(f"图层 {layer_name} 中没有 {feature_id!r} (no feature {feature_id!r} in "
                           f"layer {layer_name})")
        return loaded, position

    def around(self, layer_name: str, feature_id: str,
               distance_m: float = DEFAULT_DISTANCE_M) -> dict[str, Any]:
        """Everything within `distance_m` metres of a site, JSON-ready (WGS84)."""
        loaded, position = self.site(layer_name, feature_id)
        site = loaded.metric[position]
        reach = site.buffer(distance_m, quad_segs=BUFFER_QUAD_SEGS)
        props = loaded.features[position]["properties"]
        hits: list[dict[str, Any]] = []
        result: dict[str, Any] = {
            "site": {
                "layer": layer_name, "id": feature_id, "name": props["name"],
                "status": props.get("status"), "area_m2": props.get("area_m2"),
                "area_mu": props.get("area_mu"),
            },
            "distance_m": distance_m,
            "buffer": shapely.geometry.mapping(_rounded(to_wgs84(reach))),
            **self._communities(site, reach),
            "venues": self._venues(site, distance_m, hits),
            "parking": self._parking(site, distance_m, hits),
            "garbage": self._garbage(site, distance_m, hits),
            "sites": self._other_sites(layer_name, feature_id, site, distance_m, hits),
            "nearest_main_road": self.nearest_main_road(site),
        }
        result["features"] = {"type": "FeatureCollection", "features": hits}
        return result

    # --------------------------------------------------------------- parts
    def _within(self, name: str, site: Geometry, distance_m: float
                ) -> list[tuple[LoadedLayer, int, float]]:
        """(layer, position, distance in m) of the features within reach, nearest first."""
        loaded = self.store.get(name)
        positions = loaded.tree.query(site, predicate="dwithin", distance=distance_m)
        found = [(loaded, int(i), float(site.distance(loaded.metric[i]))) for i in positions]
        return sorted(found, key=lambda t: (t[2], loaded.ids[t[1]]))

    def _communities(self, site: Geometry, reach: Geometry) -> dict[str, Any]:
        """Communities the reach touches, with the households estimated to live in it."""
        loaded = self.store.get("communities")
        ring = reach.difference(site)  # the site itself is not homes
        rows = []
        for i in loaded.tree.query(reach, predicate="intersects"):
            community = loaded.metric[i]
            inside = community.intersection(ring).area
            if inside <= 0:
                continue
            props = loaded.features[i]["properties"]
            share = inside / community.area
            rows.append({
                "id": loaded.ids[i], "name": props["name"],
                "households": props["households"],
                "area_within_m2": round(inside, 1),
                "share": round(share, 4),
                "share_pct": round(100 * share, 1),  # as shown: one rounding for every page
                "households_estimate": round(props["households"] * share),
            })
        rows.sort(key=lambda r: (-r["households_estimate"], r["id"]))
        return {
            "communities": rows,
            "households_estimate": sum(r["households_estimate"] for r in rows),
            "households_note": HOUSEHOLDS_NOTE,
        }

    def _venues(self, site: Geometry, distance_m: float, hits: list[dict[str, Any]]
                ) -> dict[str, Any]:
        items = []
        for loaded, i, d in self._within("venues", site, distance_m):
            p = loaded.features[i]["properties"]
            items.append({"id": loaded.ids[i], "name": p["name"], "category": p["category"],
                          "kind": p["kind"], "address": p["address"], "distance_m": round(d, 1)})
            hits.append(_hit(loaded, i, d, p["kind"]))
        kinds = Counter((v["category"], v["kind"]) for v in items)
        layer = get_layer("venues")
        order = {k: n for n, k in enumerate(layer.field("kind").choices)}
        return {
            "count": len(items),
            "by_kind": [{"category": c, "kind": k, "count": n}
                        for (c, k), n in sorted(kinds.items(), key=lambda t: order[t[0][1]])],
            "items": items,
        }

    def _parking(self, site: Geometry, distance_m: float, hits: list[dict[str, Any]]
                 ) -> dict[str, Any]:
        items = []
        for loaded, i, d in self._within("parking", site, distance_m):
            p = loaded.features[i]["properties"]
            items.append({"id": loaded.ids[i], "name": p["name"], "kind": p["kind"],
                          "spaces": p["spaces"], "distance_m": round(d, 1)})
            hits.append(_hit(loaded, i, d, p["kind"]))
        return {"count": len(items), "spaces": sum(p["spaces"] for p in items), "items": items}

    def _garbage(self, site: Geometry, distance_m: float, hits: list[dict[str, Any]]
                 ) -> dict[str, Any]:
        items = []
        for loaded, i, d in self._within("garbage", site, distance_m):
            p = loaded.features[i]["properties"]
            items.append({"id": loaded.ids[i], "name": p["name"], "bins": p["bins"],
                          "kinds": p["kinds"], "distance_m": round(d, 1)})
            hits.append(_hit(loaded, i, d, "垃圾投放点"))
        return {"count": len(items), "bins": sum(p["bins"] for p in items), "items": items}

    def _other_sites(self, layer_name: str, feature_id: str, site: Geometry,
                     distance_m: float, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for name in SITE_LAYERS:
            for loaded, i, d in self._within(name, site, distance_m):
                if name == layer_name and loaded.ids[i] == feature_id:
                    continue
                p = loaded.features[i]["properties"]
                rows.append({"layer": name, "layer_title": loaded.layer.title,
                             "id": loaded.ids[i], "name": p["name"], "status": p["status"],
                             "distance_m": round(d, 1)})
                hits.append(_hit(loaded, i, d, p["status"]))
        rows.sort(key=lambda r: (r["distance_m"], r["layer"], r["id"]))
        return rows

    def nearest_main_road(self, site: Geometry) -> dict[str, Any] | None:
        """The nearest 主干路, its distance and the shortest line to it (WGS84)."""
        if not len(self._main_roads):
            return None
        found = self._main_road_tree.query_nearest(site, return_distance=True)
        nearest, distances = found
        # Ties (a site between two roads at the same distance) go to the lower id.
        roads = self.store.get("roads")
        candidates = sorted((roads.ids[self._main_roads[j]], int(self._main_roads[j]))
                            for j in nearest)
        position = candidates[0][1]
        line = shapely.shortest_line(site, roads.metric[position])
        props = roads.features[position]["properties"]
        return {
            "id": roads.ids[position], "name": props["name"], "kind": props["kind"],
            "distance_m": round(float(distances[0]), 1),
            "line": shapely.geometry.mapping(_rounded(to_wgs84(line))),
        }


def _hit(loaded: LoadedLayer, position: int, distance_m: float, kind: str) -> dict[str, Any]:
    """A feature within reach, for the page to draw."""
    feature = loaded.features[position]
    return {
        "type": "Feature",
        "id": f"{loaded.name}/{feature['id']}",
        "geometry": feature["geometry"],
        "properties": {"layer": loaded.name, "layer_title": loaded.layer.title,
                       "id": feature["id"], "name": feature["properties"]["name"],
                       "kind": kind, "distance_m": round(distance_m, 1)},
    }


def _rounded(geom: Geometry) -> Geometry:
    return shapely.set_precision(geom, 1e-7)
