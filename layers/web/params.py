"""Query parameters: one parser per kind of value, for every blueprint.

Each parser takes the parameter's text (None when it is absent) and its name,
and returns the typed value or raises BadRequest (400) with a message in
Chinese first and then in English, naming the parameter, what it must be and
what was given. `hint` (e.g. "metres") closes each English message of a
parameter, so a client reads what the parameter means in every complaint.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from layers.errors import BadRequest

BBox = tuple[float, float, float, float]

LONLAT_ORDER = "minx,miny,maxx,maxy (lon/lat, WGS84)"

# What the Chinese part of a message calls a parameter: its meaning, then its name.
PARAM_LABELS = {
    "lon": "经度", "lat": "纬度", "crs": "坐标系", "radius_m": "半径(米)", "limit": "数量",
    "offset": "起始位置", "distance": "周边距离(米)", "year": "年份", "zoom": "缩放级别",
    "layer": "图层", "layers": "图层", "indicator": "专题指标",
    "status": "状态", "sort": "排序", "order": "排序方向", "community": "社区",
    "basemap": "底图", "format": "格式", "datetime": "时间",
}


def zh(name: str) -> str:
    """A parameter as the Chinese part of a message names it: 经度 lon, or the name alone."""
    label = PARAM_LABELS.get(name)
    return f"{label} {name}" if label else name


def _hint(hint: str) -> str:
    return f" ({hint})" if hint else ""


def number(text: str | None, name: str, *, default: float | None = None,
           minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, unit: str = "", hint: str = "") -> float:
    """A finite number within [minimum, maximum] (and more than `above`); `default` when the
    parameter is absent or blank, else missing is 400. With both bounds, NaN and infinity
    are out of range; otherwise they are not finite."""
    if text is None or not text.strip():
        if default is not None:
            return default
        raise BadRequest(f"缺少参数 {zh(name)} ({name} is missing{_hint(hint)})")
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{zh(name)} 须为数值 ({name}={text!r} is not a number{_hint(hint)})"
                         ) from None
    en_unit = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise BadRequest(f"{zh(name)} 须在 {minimum:g} 到 {maximum:g} 之间 ({name} must lie "
                             f"between {minimum:g} and {maximum:g}{en_unit}, not {text}"
                             f"{'; ' + hint if hint else ''})")
        return value
    if not math.isfinite(value):
        raise BadRequest(f"{zh(name)} 须为有限数值 ({name} must be a finite number{_hint(hint)})")
    if above is not None and value <= above:
        raise BadRequest(f"{zh(name)} 须大于 {above:g} ({name} must be more than "
                         f"{above:g}{en_unit})")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{zh(name)} 不能小于 {minimum:g} ({name} must be at least {minimum:g}"
                         f"{en_unit}, not {value:g})")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{zh(name)} 不能超过 {maximum:g} ({name} must not exceed {maximum:g}"
                         f"{en_unit}; got {value:g})")
    return value


def integer(text: str | None, name: str, *, default: int | None = None,
            minimum: int | None = 0, maximum: int | None = None, hint: str = "") -> int:
    """A whole number from `minimum` (None: any) up to `maximum`; `default` when absent or
    blank, else missing is 400."""
    if text is None or not text.strip():
        if default is not None:
            return default
        raise BadRequest(f"缺少参数 {zh(name)} ({name} is missing{_hint(hint)})")
    at_least = "" if minimum is None else f" of at least {minimum}"
    wanted = f"{zh(name)} 须为{'' if minimum is None else f'不小于 {minimum} 的'}整数"
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{wanted} ({name}={text!r} is not a number: {name} must be an "
                         f"integer{at_least}{_hint(hint)})") from None
    if not math.isfinite(value):
        raise BadRequest(f"{wanted} ({name} must be a finite number{_hint(hint)})")
    if value != int(value):
        raise BadRequest(f"{wanted} ({name} must be a whole number{at_least}, not {text}"
                         f"{_hint(hint)})")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{wanted} ({name} must be a whole number, and {name} must be at "
                         f"least {minimum}; got {value:g}{_hint(hint)})")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{zh(name)} 不能超过 {maximum} ({name} must not exceed {maximum}; "
                         f"got {value:g})")
    return int(value)


def boolean(text: str, name: str) -> bool:
    """`true` or `false`."""
    if text not in ("true", "false"):
        raise BadRequest(f"{zh(name)} 须为 true 或 false ({name} must be true or false, not "
                         f"{text!r})")
    return text == "true"


def bbox(text: str, *, lonlat: bool = True) -> BBox:
    """`minx,miny,maxx,maxy` in lon/lat, checked as such (`lonlat`); or, for the OGC API,
    a lower and an upper corner in any CRS's axis order, with heights allowed (6 numbers,
    which are dropped) and a box that may cross the antimeridian (minx > maxx)."""
    parts = text.split(",")
    if len(parts) != 4 and (lonlat or len(parts) != 6):
        if lonlat:
            raise BadRequest(f"范围 bbox 须为 4 个数 (bbox must be 4 numbers, i.e. four numbers: "
                             f"{LONLAT_ORDER})")
        raise BadRequest("范围 bbox 须为 4 个数,或带高程的 6 个数 (bbox must be 4 numbers: the "
                         "lower corner, then the upper corner, in the axis order of bbox-crs; "
                         "lon/lat by default; or 6 with heights)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise BadRequest(f"范围 bbox 中有非数值 (bbox {text!r} holds something that is not a "
                         "number)") from None
    if not all(math.isfinite(v) for v in values):
        raise BadRequest("范围 bbox 须为有限数值 (bbox values must be finite numbers)")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    minx, miny, maxx, maxy = values
    if not lonlat:
        if miny > maxy:
            raise BadRequest("范围 bbox 的第二个数(下角)不能大于第四个数 (bbox: the second value "
                             "(lower corner) must not exceed the fourth)")
        return minx, miny, maxx, maxy
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
            and -90 <= maxy <= 90):
        raise BadRequest("范围 bbox 超出经纬度范围 (bbox is out of range: lon must lie in "
                         "-180..180 and lat in -90..90; order: minx,miny,maxx,maxy)")
    if minx > maxx or miny > maxy:
        raise BadRequest("范围 bbox 的最小值不能大于最大值 (bbox min must not exceed max (order: "
                         "minx,miny,maxx,maxy))")
    return minx, miny, maxx, maxy


def day(text: str, name: str) -> dt.date:
    """An RFC 3339 date (2022-03-11) or date-time with a time zone (2022-03-11T08:00:00Z), as
    its day in UTC."""
    try:
        if "T" in text.upper():
            moment = dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
            return moment.astimezone(dt.UTC).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{zh(name)} 须为 RFC 3339 日期或时间,而不是 {text!r} ({name} {text!r} is "
                         "not an RFC 3339 date or date-time: 2022-03-11, 2022-03-11T08:00:00Z)"
                         ) from None


def lon_lat(args: Mapping[str, str]) -> tuple[float, float]:
    """`lon` and `lat`: finite numbers, both required (each parser checks its range)."""
    return (number(args.get("lon"), "lon", hint="longitude, e.g. 116.96"),
            number(args.get("lat"), "lat", hint="latitude, e.g. 36.66"))


def choice(text: str | None, name: str, allowed: Sequence[str], default: str | None = None
           ) -> str:
    """One of `allowed`; `default` when absent, else missing is 400."""
    if text is None:
        if default is not None:
            return default
        raise BadRequest(f"缺少参数 {zh(name)} ({name} is missing; it is one of "
                         f"{', '.join(allowed)})")
    if text not in allowed:
        raise BadRequest(f"{zh(name)} 须为 {'、'.join(allowed)} 之一 ({name} must be one of "
                         f"{', '.join(allowed)}, not {text!r})")
    return text
