"""CSV and XLSX exports of the site tables, read back."""

import csv
import datetime as dt
import io
from urllib.parse import unquote

import openpyxl
import pytest

from layers.data.tables import Column, to_csv, to_xlsx

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)


def api_rows(client, kind, query=""):
    return client.get(f"/api/{kind}{query}").get_json()


def read_csv(data):
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel then reads Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_parcels_csv_reads_back_as_the_table(client):
    response = client.get("/api/parcels/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = unquote(response.headers["Content-Disposition"])
    assert "attachment" in disposition and "土地地块台账_2026-11-25.csv" in disposition
    header, *rows = read_csv(response.data)
    body = api_rows(client, "parcels")
    assert header == [c["label"] for c in body["columns"]]
    assert header[:5] == ["地块名称", "状态", "权属单位", "面积(平方米)", "面积(亩)"]
    assert len(rows) == len(body["rows"]) == 7
    for line, row in zip(rows, body["rows"], strict=True):
        record = dict(zip(header, line, strict=True))
        assert record["地块名称"] == row["name"]
        assert float(record["面积(亩)"]) == row["area_mu"]
        assert float(record["面积(平方米)"]) == row["area_m2"]
        assert int(record["闲置年限(年,示意)"]) == row["years_idle"]
        assert record["更新日期(示意)"] == row["last_update"]


def test_csv_follows_the_filter_and_sort(client):
    header, *rows = read_csv(client.get(
        "/api/parcels/export.csv?status=闲置&sort=years_idle&order=asc").data)
    status, years = header.index("状态"), header.index("闲置年限(年,示意)")
    assert {r[status] for r in rows} == {"闲置"}
    assert [int(r[years]) for r in rows] == sorted(int(r[years]) for r in rows)
    assert len(rows) == 3


def test_projects_csv_leaves_unknown_values_empty(client):
    header, *rows = read_csv(client.get("/api/projects/export.csv").data)
    plan = header.index("计划总投资(万元)")
    done_2022 = header.index("2022年完成投资(万元)")
    by_name = {r[0]: r for r in rows}
    assert float(by_name["三箭和平广场"][done_2022]) == 17446.6
    assert by_name["三箭和平广场"][plan] == ""  # the document gives no planned total
    assert by_name["泉城书房"][plan] == ""


def test_parcels_xlsx_reads_back_with_types(client):
    response = client.get("/api/parcels/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["土地地块"]
    values = list(sheet.values)
    header, rows = values[0], values[1:]
    body = api_rows(client, "parcels")
    assert list(header) == [c["label"] for c in body["columns"]]
    assert len(rows) == 7
    for line, row in zip(rows, body["rows"], strict=True):
        record = dict(zip(header, line, strict=True))
        assert record["地块名称"] == row["name"]
        assert record["面积(亩)"] == row["area_mu"]  # a number, not text
        assert record["闲置年限(年,示意)"] == row["years_idle"]
        assert record["更新日期(示意)"] == dt.datetime.fromisoformat(row["last_update"])
    summary = dict(book["汇总"].values)
    assert summary["闲置面积(亩)"] == pytest.approx(body["totals"]["idle_area_mu"])
    assert summary["合计(块/个)"] == 7
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref


def test_projects_xlsx_totals(client):
    data = client.get("/api/projects/export.xlsx?status=在建").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(book.worksheets[0].values)
    assert {r[0] for r in rows[1:]} == {"三箭和平广场", "长者食堂"}
    summary = dict(book["汇总"].values)
    assert summary["2022年完成投资合计(万元)"] == 17446.6


def test_bad_export_query_is_400_json(client):
    response = client.get("/api/parcels/export.xlsx?status=nope")
    assert response.status_code == 400 and response.get_json()["ok"] is False


HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]


def test_formulas_in_data_stay_text_in_csv():
    columns = [Column("name", "名称", "str"), Column("n", "数", "float")]
    rows = [{"name": text, "n": -1.5} for text in HOSTILE]
    header, *lines = read_csv(to_csv(columns, rows))
    assert header == ["名称", "数"]
    assert [line[0] for line in lines] == ["'" + text for text in HOSTILE]
    assert all(line[1] == "-1.5" for line in lines)  # numbers are not touched


def test_formulas_in_data_stay_text_in_xlsx():
    columns = [Column("name", "名称", "str")]
    data = to_xlsx(columns, [{"name": text} for text in HOSTILE], "表")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == HOSTILE
    assert all(c.data_type == "s" for c in cells)
