"""The figures of the year (geodata/figures_2022.json): loaded and checked once.

The dashboard reads them through the API; no figure is written into a
template. Each figure carries the original wording it comes from (`quote`) or
says how it was worked out from the document (`derived`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from layers.catalogue.validate import LayerDataError, Problem

CHART_TYPES = ("plan", "growth", "share", "bar")
QUALIFIERS = ("余", "近")  # "more than" / "nearly": the document's round figures
_ID = re.compile(r"[a-z][a-z0-9_]*")


def load_figures(path: Path) -> dict[str, Any]:
    """The checked figures file; LayerDataError naming every problem otherwise."""
    source = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayerDataError([Problem(source, None, f"missing: the dashboard needs {path}")]
                             ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LayerDataError([Problem(source, None, f"is not valid UTF-8 JSON: {e}")]) from None
    problems = [Problem(source, where, message) for where, message in check_figures(data)]
    if problems:
        raise LayerDataError(problems)
    return data


def figures_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for group in data["groups"] for f in group["figures"]}


def check_figures(data: Any) -> list[tuple[str | None, str]]:
    """(where, what is wrong) for every problem of a figures document."""
    if not isinstance(data, dict):
        return [(None, "must be a JSON object")]
    problems: list[tuple[str | None, str]] = []
    for key in ("title", "period"):
        if not _text(data.get(key)):
            problems.append((None, f"{key!r} must be a non-empty string"))
    source = data.get("source")
    if not (isinstance(source, dict) and _text(source.get("document"))):
        problems.append((None, "'source' must name the document: {\"document\": ...}"))
    groups = data.get("groups")
    if not (isinstance(groups, list) and groups):
        return [*problems, (None, "'groups' must be a non-empty list")]
    seen: dict[str, dict[str, Any]] = {}
    for i, group in enumerate(groups):
        where = f"group {i}"
        if not (isinstance(group, dict) and _text(group.get("title"))
                and isinstance(group.get("figures"), list) and group["figures"]):
            problems.append((where, "needs a 'title' and a non-empty list of 'figures'"))
            continue
        for figure in group["figures"]:
            fid, found = _check_figure(figure)
            where = fid or f"{where}: a figure"
            problems += [(where, message) for message in found]
            if fid in seen:
                problems.append((fid, "id is used twice"))
            elif fid:
                seen[fid] = figure
    for fid in _list(data.get("highlights")):
        if fid not in seen:
            problems.append(("highlights", f"no figure {fid!r}"))
    for i, chart in enumerate(_list(data.get("charts"))):
        problems += [(f"chart {i}", message) for message in _check_chart(chart, seen)]
    return problems


def _check_figure(figure: Any) -> tuple[str | None, list[str]]:
    if not isinstance(figure, dict):
        return None, ["must be an object"]
    fid = figure.get("id")
    problems = []
    if not (isinstance(fid, str) and _ID.fullmatch(fid)):
        problems.append(f"id {fid!r} must be lower-case letters, digits and _")
        fid = None
    if not _text(figure.get("label")) or not _text(figure.get("unit")):
        problems.append("needs a 'label' and a 'unit'")
    if not _number(figure.get("value")) or figure["value"] < 0:
        problems.append("'value' must be a number, zero or more")
    for key in ("plan_pct", "yoy_pct"):
        if key in figure and not _number(figure[key]):
            problems.append(f"{key!r} must be a number (per cent)")
    if figure.get("qualifier", "余") not in QUALIFIERS:
        problems.append(f"'qualifier' must be one of {', '.join(QUALIFIERS)}")
    if not (_text(figure.get("quote")) or _text(figure.get("derived"))):
        problems.append("needs the original wording ('quote') or how it was worked out "
                        "('derived')")
    return fid, problems


def _check_chart(chart: Any, figures: dict[str, dict[str, Any]]) -> list[str]:
    if not isinstance(chart, dict):
        return ["must be an object"]
    problems = []
    if not _text(chart.get("title")):
        problems.append("needs a 'title'")
    kind = chart.get("type")
    if kind not in CHART_TYPES:
        problems.append(f"'type' must be one of {', '.join(CHART_TYPES)}")
    ids = _list(chart.get("figures"))
    if not ids:
        problems.append("needs a non-empty list of 'figures'")
    known = [figures[i] for i in ids if i in figures]
    problems += [f"no figure {i!r}" for i in ids if i not in figures]
    if kind == "plan":
        problems += [f"{f['id']} has no plan_pct" for f in known if "plan_pct" not in f]
    if kind == "growth":
        problems += [f"{f['id']} has no yoy_pct" for f in known if "yoy_pct" not in f]
    if (kind in ("share", "bar") and len({f.get("unit") for f in known}) > 1
            and not _text(chart.get("unit"))):
        problems.append("figures of different units on one axis need the chart's own 'unit'")
    return problems


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
