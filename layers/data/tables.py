"""Tables to CSV (UTF-8 with BOM, so that Excel reads Chinese) and XLSX (openpyxl).

Headers are the Chinese column labels. Text that a spreadsheet would take for
a formula (starting with = + - @ or a control character) is kept as text: a
leading apostrophe in CSV (the usual defence against CSV injection), an
explicit string cell in XLSX. Codes that Excel would turn into numbers (a 16-digit
部件编码 into 3.70104E+15, 0123 into 123) stay text: `="3701040305000001"` in CSV
(Excel shows the code; the importer reads it back), a text cell ("@") in XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from layers.catalogue.values import format_value

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Digits Excel would read as a number and mangle: 12 or more (shown as 3.70104E+15, and
# past 15 digits changed), or a leading zero (dropped).
EXCEL_MANGLED = re.compile(r"\d{12,}|0\d+")
NUMBER_FORMATS = {"float": "#,##0.0#", "int": "0", "pct": "0.0", "date": "yyyy-mm-dd"}


@dataclass(frozen=True)
class Column:
    """A column of a table: the row key, its Chinese header, the type of its cells."""

    field: str
    label: str
    type: str  # "str", "int", "float", "date", "pct"
    unit: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "label": self.label, "type": self.type, "unit": self.unit}


def cell_text(value: Any) -> str:
    """A value as CSV text (catalogue.values.format_value, numbers as they are), formula-like
    text quoted."""
    text = format_value(value, grouped=False)
    if isinstance(value, str) and EXCEL_MANGLED.fullmatch(text):
        return f'="{text}"'
    return "'" + text if isinstance(value, str | list) and text.startswith(FORMULA_STARTS) else text


def to_csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(c) for c in columns)
    for row in rows:
        writer.writerow(cell_text(row.get(c.field)) for c in columns)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(columns: Sequence[Column], rows: Sequence[dict[str, Any]], sheet_title: str,
            summary: Sequence[tuple[str, Any]] = ()) -> bytes:
    """One sheet of rows (header frozen, auto-filter) and, if given, a 汇总 sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title[:31]
    sheet.append([_header(c) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(columns, start=1):
            _put(sheet.cell(row=r, column=c), row.get(column.field), column.type)
    for c, column in enumerate(columns, start=1):
        widest = max([len(_header(column))] + [len(cell_text(row.get(column.field)))
                                                for row in rows])
        sheet.column_dimensions[get_column_letter(c)].width = min(60, 4 + 1.8 * widest)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    if summary:
        totals = book.create_sheet("汇总")
        for label, value in summary:
            totals.append([label])
            _put(totals.cell(row=totals.max_row, column=2), value, "float")
        totals.column_dimensions["A"].width = 28
        totals.column_dimensions["B"].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(column: Column) -> str:
    return column.label


def _put(cell: Any, value: Any, kind: str) -> None:
    if value is None:
        return
    if isinstance(value, bool | list):
        cell.value = cell_text(value)
    elif kind == "date" and isinstance(value, str):
        cell.value = dt.date.fromisoformat(value)
        cell.number_format = NUMBER_FORMATS["date"]
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl would take "=..." for a formula
        cell.number_format = "@"  # text: Excel keeps codes such as 3701040305000001 as typed
    else:
        cell.value = value
        cell.number_format = NUMBER_FORMATS.get(kind, "General")
