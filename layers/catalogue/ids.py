"""Feature ids: each layer's pattern, and new ids for files that come without any.

A KML from Google Earth or 奥维互动地图, a GPX track, or a spreadsheet without an
编号 column holds no ids; an import gives its features ids in the layer's
pattern (V0001, P01 ...), numbered in the file's order: the same file gets the
same ids again. Layers whose ids are official codes (the grid's 网格编码) or
fixed (the boundary) take no made-up ids.
"""

from __future__ import annotations

from collections.abc import Iterable

# Each layer's id prefix and number width, as the shipped data (geodata/) spells them.
ID_PATTERNS: dict[str, tuple[str, int]] = {
    "communities": ("C", 1), "compounds": ("Q", 2), "garbage": ("G", 3), "hotline": ("H", 4),
    "illegal_removed": ("W", 2), "parcels": ("P", 2), "parking": ("K", 2),
    "projects": ("J", 2), "railway_cleanup": ("T", 2), "roads": ("R", 2),
    "selfbuilt": ("Z", 2), "shopfronts": ("M", 3), "vending": ("S", 2), "venues": ("V", 4),
}


def new_ids(layer: str, count: int, taken: Iterable[str] = ()) -> list[str] | None:
    """`count` ids in the layer's pattern, in order, none of them in `taken`; None when the
    layer's ids are not made up (see above)."""
    if layer not in ID_PATTERNS:
        return None
    prefix, width = ID_PATTERNS[layer]
    used = set(taken)
    ids: list[str] = []
    n = 0
    while len(ids) < count:
        n += 1
        candidate = f"{prefix}{n:0{width}d}"
        if candidate not in used:
            ids.append(candidate)
    return ids
