"""Exports that Excel opens without mangling codes: 16-digit 部件编码 and leading zeros stay
text in CSV and XLSX, and the map's CSV still imports back."""

import csv
import io

import openpyxl

from layers.catalogue.entries import get_layer
from layers.data.importer import to_field_value, to_id
from layers.data.tables import Column, cell_text, to_csv, to_xlsx
from tests.conftest import client_as


def test_codes_stay_text_in_csv_and_xlsx():
    columns = [Column("code", "部件编码", "str"), Column("n", "数量", "int")]
    rows = [{"code": "3701040305000001", "n": 3}, {"code": "0123", "n": 0},
            {"code": "12", "n": 1}, {"code": "-1", "n": 2}]
    text = to_csv(columns, rows).decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text)))
    assert got[1] == ['="3701040305000001"', "3"]
    assert got[2] == ['="0123"', "0"]
    assert got[3] == ["12", "1"]  # short numbers stay numbers
    assert got[4] == ["'-1", "2"]  # formula-like text keeps its apostrophe
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(columns, rows, "表")))
    sheet = book.active
    assert sheet["A2"].value == "3701040305000001" and sheet["A2"].data_type == "s"
    assert sheet["A2"].number_format == "@"
    assert sheet["A3"].value == "0123" and sheet["B2"].value == 3


def test_the_importer_reads_the_kept_text_back():
    code = get_layer("garbage").field("code")
    assert to_field_value(code, cell_text("3701040305000001")) == "3701040305000001"
    assert to_id(cell_text("370104002001001")) == "370104002001001"


def test_the_maps_csv_export_keeps_codes_text(app):
    body = client_as(app, "viewer").get("/api/export?layers=garbage&format=csv").data
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    code = header.index("部件编码")
    assert all(r[code].startswith('="3701040305') and r[code].endswith('"') for r in rows[1:])
