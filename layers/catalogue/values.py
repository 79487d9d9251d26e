"""A property value as Chinese text: the one formatter of templates, exports and the brief.

The page scripts format popups the same way (HS.formatValue in static/js/common.js).
"""

from __future__ import annotations

from typing import Any


def format_value(value: Any, unit: str = "", *, grouped: bool = True) -> str:
    """是/否 for booleans, lists joined with 、, "" for nothing; numbers with thousands
    separators and at most two decimals (`grouped`, for readers) or as they are (tables
    of data and exports), followed by the unit ("%" without a space)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, int | float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if grouped else str(value)
        return f"{text}{unit}" if unit == "%" else f"{text} {unit}".rstrip()
    return str(value)
