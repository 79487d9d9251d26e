"""The basemap sources: what the pages may show under the data, read once at start.

A source is one basemap of the switch on the pages: a name in Chinese, a tile URL
template (XYZ, or a WMTS GetTile request in key-value form, or a RESTful WMTS
template), an optional labels overlay drawn above it (天地图's 注记), and whether
its server needs a key. Tiles are Web Mercator (EPSG:3857, 天地图's `_w` sets),
in WGS84/CGCS2000 coordinates: no GCJ-02 offset.

Configuration (server.py DEFAULTS): `BASEMAPS`, a list of mappings (the fields of
`BasemapSource`), or `BASEMAPS_FILE`, a JSON or TOML file holding that list (in
TOML: `[[basemap]]` tables); neither: the shipped defaults, none / OpenStreetMap /
天地图矢量 / 天地图影像, the two 天地图 ones only when `TIANDITU_KEY` is set. A
source that needs a key whose setting is empty is left out. A bad entry raises
BasemapConfigError, which stops the start with a message in Chinese and English.

URL templates may use {z} {x} {y} (or {-y}, TMS rows), {TileMatrix} {TileRow}
{TileCol} (WMTS), {s} (one of `subdomains`) and {key} (the key, added by the
tile proxy on the server: a source with a key is always proxied, so the key
never reaches a page).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

NONE_KEY = "none"
NONE_NAME = "无底图(离线)"
KINDS = ("vector", "imagery")
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
LABELS_SUFFIX = "-labels"  # the proxy's name of a source's labels overlay: "tianditu-labels"
MAX_ZOOM_LIMIT = 22
COORDINATES = ({"{z}", "{x}", "{y}"}, {"{z}", "{x}", "{-y}"},
               {"{TileMatrix}", "{TileCol}", "{TileRow}"})
PLACEHOLDERS = re.compile(r"\{[^{}]*\}")
KNOWN_PLACEHOLDERS = {"{z}", "{x}", "{y}", "{-y}", "{TileMatrix}", "{TileCol}", "{TileRow}",
                      "{s}", "{key}"}

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"
TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={{key}}")
TIANDITU_ATTRIBUTION = "&copy; 天地图 (国家地理信息公共服务平台)"


class BasemapConfigError(ValueError):
    """A basemap source that cannot be used: the service does not start."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"底图配置有误:{zh}\nbasemap configuration error: {en}")


@dataclass(frozen=True)
class BasemapSource:
    key: str  # [a-z][a-z0-9_]*: the page's and the proxy's name of the source
    name: str  # shown on the basemap switch, in Chinese
    url: str  # tile URL template (see the module's docstring)
    kind: str = "vector"  # "vector" (a drawn map) or "imagery" (影像)
    attribution: str = ""  # HTML, as Leaflet shows it; from the configuration, not data
    subdomains: str = ""  # characters for {s}, e.g. "01234567"
    max_zoom: int = 18  # the deepest zoom the server has tiles for
    labels_url: str | None = None  # a labels overlay drawn above (注记), same placeholders
    needs_key: bool = False  # the URL carries {key}, the value of the setting key_setting
    key_setting: str = "TIANDITU_KEY"
    proxy: bool = True  # pages load its tiles through /tiles (always, with a key)
    seed: bool = True  # `tiles seed` may fetch it in bulk (false: OpenStreetMap's policy)
    api_key: str | None = field(default=None, repr=False, compare=False)  # never shown

    @property
    def layer_ids(self) -> tuple[str, ...]:
        """The proxy's names of its tile sets: the map, then its labels if any."""
        return (self.key,) + ((self.key + LABELS_SUFFIX,) if self.labels_url else ())

    def template(self, layer_id: str) -> str:
        return self.labels_url if layer_id.endswith(LABELS_SUFFIX) and self.labels_url \
            else self.url

    def upstream_url(self, layer_id: str, z: int, x: int, y: int) -> str:
        """The URL of one tile at the source, with the key: for the server only."""
        values = {"{z}": z, "{x}": x, "{y}": y, "{-y}": (1 << z) - 1 - y,
                  "{TileMatrix}": z, "{TileCol}": x, "{TileRow}": y,
                  "{s}": self.subdomains[(x + y) % len(self.subdomains)] if self.subdomains
                  else "",
                  "{key}": quote(self.api_key or "", safe="")}
        return PLACEHOLDERS.sub(lambda m: str(values[m.group(0)]), self.template(layer_id))

    def origin(self) -> str:
        """scheme://host of its tiles, for the Content-Security-Policy ({s} as *)."""
        parts = urlsplit(self.url.replace("{s}", "*"))
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Basemaps:
    """The configured sources, in the order of the pages' switch (after none)."""

    sources: tuple[BasemapSource, ...]

    def get(self, key: str) -> BasemapSource | None:
        return next((s for s in self.sources if s.key == key), None)

    def by_layer_id(self, layer_id: str) -> BasemapSource | None:
        """The proxied source a tile-set name of /tiles belongs to."""
        key = layer_id.removesuffix(LABELS_SUFFIX)
        source = self.get(key)
        if source is None or not source.proxy or layer_id not in source.layer_ids:
            return None
        return source

    def keys(self) -> tuple[str, ...]:
        return (NONE_KEY,) + tuple(s.key for s in self.sources)

    def names(self) -> tuple[str, ...]:
        return (NONE_NAME,) + tuple(s.name for s in self.sources)


def default_entries() -> list[dict[str, Any]]:
    """The shipped basemaps: OpenStreetMap, and 天地图 vector and imagery (with a key)."""
    return [
        {"key": "osm", "name": "OpenStreetMap", "url": OSM_URL, "kind": "vector",
         "attribution": OSM_ATTRIBUTION, "max_zoom": 19, "seed": False},
        {"key": "tianditu", "name": "天地图矢量", "kind": "vector",
         "url": TIANDITU_URL.format(layer="vec"), "labels_url": TIANDITU_URL.format(layer="cva"),
         "subdomains": "01234567", "attribution": TIANDITU_ATTRIBUTION, "max_zoom": 18,
         "needs_key": True},
        {"key": "tianditu_img", "name": "天地图影像", "kind": "imagery",
         "url": TIANDITU_URL.format(layer="img"), "labels_url": TIANDITU_URL.format(layer="cia"),
         "subdomains": "01234567", "attribution": TIANDITU_ATTRIBUTION, "max_zoom": 18,
         "needs_key": True},
    ]


def read_file(path: Path) -> list[Any]:
    """The entries of a BASEMAPS_FILE: a JSON list, or TOML `[[basemap]]` tables."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BasemapConfigError(f"无法读取底图配置文件 {path}", f"cannot read {path}: {e}") \
            from None
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text).get("basemap", [])
        else:
            data = json.loads(text)
    except ValueError as e:
        raise BasemapConfigError(f"底图配置文件 {path} 格式错误", f"{path} is not valid: {e}") \
            from None
    if not isinstance(data, list):
        raise BasemapConfigError(f"底图配置文件 {path} 应为底图列表",
                                 f"{path} must hold a list of basemap sources")
    return data


def load(config: Mapping[str, Any]) -> Basemaps:
    """The sources of an app's configuration (BASEMAPS, BASEMAPS_FILE, the keys)."""
    entries: Sequence[Any]
    if config.get("BASEMAPS") is not None and config.get("BASEMAPS_FILE"):
        raise BasemapConfigError("BASEMAPS 与 BASEMAPS_FILE 只能设置一个",
                                 "set BASEMAPS or BASEMAPS_FILE, not both")
    if config.get("BASEMAPS_FILE"):
        entries = read_file(Path(config["BASEMAPS_FILE"]))
    elif config.get("BASEMAPS") is not None:
        entries = config["BASEMAPS"]
        if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
            raise BasemapConfigError("BASEMAPS 应为底图列表", "BASEMAPS must be a list")
    else:
        entries = default_entries()
    sources = []
    for n, entry in enumerate(entries, start=1):
        source = parse_entry(entry, n)
        key = config.get(source.key_setting) if source.needs_key else None
        if source.needs_key and not key:
            continue  # e.g. 天地图 without TIANDITU_KEY
        sources.append(_with_key(source, str(key) if key else None))
    keys = [s.key for s in sources]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise BasemapConfigError(f"底图键重复:{', '.join(duplicates)}",
                                 f"duplicate basemap keys: {', '.join(duplicates)}")
    return Basemaps(tuple(sources))


def _with_key(source: BasemapSource, key: str | None) -> BasemapSource:
    return BasemapSource(**{f.name: getattr(source, f.name) for f in fields(source)
                            if f.name != "api_key"}, api_key=key)


_FIELDS = {f.name: f for f in fields(BasemapSource) if f.name != "api_key"}
_REQUIRED = ("key", "name", "url")


def parse_entry(entry: Any, n: int) -> BasemapSource:
    """One configured source, checked; BasemapConfigError naming the entry and the problem."""
    def bad(zh: str, en: str) -> BasemapConfigError:
        label = entry.get("key") if isinstance(entry, Mapping) else None
        where = f"第 {n} 项" + (f" ({label})" if isinstance(label, str) else "")
        return BasemapConfigError(f"{where}:{zh}", f"entry {n}" + (
            f" ({label})" if isinstance(label, str) else "") + f": {en}")

    if not isinstance(entry, Mapping):
        raise bad("应为键值表", "must be a mapping of the source's fields")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise bad(f"未知字段 {', '.join(unknown)}", f"unknown fields {', '.join(unknown)} "
                  f"(known: {', '.join(_FIELDS)})")
    missing = [name for name in _REQUIRED if not entry.get(name)]
    if missing:
        raise bad(f"缺少 {', '.join(missing)}", f"{', '.join(missing)} missing")
    types = {"max_zoom": int, "needs_key": bool, "proxy": bool, "seed": bool}
    for name, value in entry.items():
        wanted = types.get(name, str)
        if name == "labels_url" and value is None:
            continue
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise bad(f"{name} 类型错误", f"{name} must be {wanted.__name__}")
    source = BasemapSource(**entry)
    if not KEY_PATTERN.fullmatch(source.key) or source.key == NONE_KEY:
        raise bad("key 只能由小写字母、数字和下划线组成,以字母开头,且不能为 none",
                  "key must match [a-z][a-z0-9_]{0,31} and not be 'none'")
    if source.kind not in KINDS:
        raise bad("kind 应为 vector 或 imagery", "kind must be vector or imagery")
    if not 1 <= source.max_zoom <= MAX_ZOOM_LIMIT:
        raise bad(f"max_zoom 应在 1 到 {MAX_ZOOM_LIMIT} 之间",
                  f"max_zoom must be within 1..{MAX_ZOOM_LIMIT}")
    for name in ("url", "labels_url"):
        template = getattr(source, name)
        if template is not None:
            _check_template(source, name, template, bad)
    if source.needs_key and not source.proxy:
        raise bad("需要密钥的底图必须经由本服务的瓦片代理(proxy 不能为 false),否则密钥会写进页面",
                  "a source with a key must be proxied (proxy = true): otherwise the key "
                  "would reach the pages")
    return source


def _check_template(source: BasemapSource, name: str, template: str, bad: Any) -> None:
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad(f"{name} 应为 http:// 或 https:// 地址", f"{name} must be an http(s) URL")
    used = set(PLACEHOLDERS.findall(template))
    unknown = sorted(used - KNOWN_PLACEHOLDERS)
    if unknown:
        raise bad(f"{name} 含未知占位符 {', '.join(unknown)}",
                  f"{name} has unknown placeholders {', '.join(unknown)}")
    if not any(c <= used for c in COORDINATES):
        raise bad(f"{name} 缺少瓦片坐标占位符 ({{z}}/{{x}}/{{y}} 或 WMTS 的 "
                  "{TileMatrix}/{TileRow}/{TileCol})",
                  f"{name} needs {{z}} {{x}} {{y}} or {{TileMatrix}} {{TileRow}} {{TileCol}}")
    if "{s}" in used and not source.subdomains:
        raise bad(f"{name} 使用了 {{s}},但未设置 subdomains",
                  f"{name} uses {{s}} but subdomains is empty")
    if ("{key}" in used) != source.needs_key:
        raise bad(f"{name} 中的 {{key}} 与 needs_key 不一致",
                  f"{name} must contain {{key}} exactly when needs_key is true")
    if "{s}" in parts.netloc.replace("{s}", "", 1) or "{key}" in parts.netloc:
        raise bad(f"{name} 的主机名只能含一个 {{s}}", f"{name}: at most one {{s}} in the host")
