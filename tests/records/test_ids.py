"""Record ids from sequences: readable, never given twice, no lock for the whole city."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from layers.records.inspections import parse_inspection
from tests.conftest import TODAY, make_app
from tests.storesql import value


@pytest.fixture
def app(tmp_path, store_backend):
    return make_app(tmp_path / "inspections.sqlite", DATABASE_POOL_SIZE=8)


def venues(app, n):
    return [f["id"] for f in app.extensions["layer_store"].get("venues").features[:n]]


def inspection(venue_id, hazards=1):
    return parse_inspection(
        {"venue_id": venue_id, "inspector": "张伟", "result": "发现隐患" if hazards else "合格",
         "hazards": [{"category": "消防安全", "description": f"隐患 {i}",
                      "deadline": "2026-12-10"} for i in range(hazards)]},
        dt.date.fromisoformat(TODAY), lambda _: True)


def test_concurrent_writers_get_distinct_ids_in_the_readable_form(app):
    records = app.extensions["inspections"]
    before = value(app, "SELECT count(*) FROM inspections")
    targets = venues(app, 8)
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(lambda i: records.record_inspection(
            inspection(targets[i % 8], hazards=2)), range(48)))
    ids = [s["id"] for s in stored]
    hazard_ids = [h["id"] for s in stored for h in s["hazards"]]
    assert len(set(ids)) == 48 and len(set(hazard_ids)) == 96
    assert all(re.fullmatch(r"INS\d{6}", i) for i in ids)
    assert all(re.fullmatch(r"HZ\d{5}", h) for h in hazard_ids)
    assert value(app, "SELECT count(*) FROM inspections") == before + 48
    # After the shipped history: the numbers go on from the highest seeded one.
    highest = max(int(i[3:]) for i in ids)
    assert sorted(int(i[3:]) for i in ids) == list(range(highest - 47, highest + 1))


def test_a_restart_goes_on_after_the_ids_given(tmp_path, store_backend):
    path = tmp_path / "inspections.sqlite"
    first = make_app(path)
    venue = venues(first, 1)[0]
    a = first.extensions["inspections"].record_inspection(inspection(venue))["id"]
    first.extensions.get("database") and first.extensions["database"].close()
    b = make_app(path).extensions["inspections"].record_inspection(inspection(venue))["id"]
    assert int(b[3:]) == int(a[3:]) + 1


def test_writers_of_other_venues_do_not_wait(tmp_path, postgis_only):
    """On PostGIS a write holds only its venue's lock: with one venue's transaction left
    open, another venue's inspection is stored at once; the same venue's waits."""
    app = make_app(tmp_path / "inspections.sqlite", DATABASE_POOL_SIZE=4)
    records = app.extensions["inspections"]
    held, other = venues(app, 2)
    release = threading.Event()

    def hold():
        with records.tables.writing() as db:
            db.lock_venue(held)
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        time.sleep(0.3)
        start = time.monotonic()
        records.record_inspection(inspection(other))
        assert time.monotonic() - start < 1.0
        same: list = []
        waiter = threading.Thread(
            target=lambda: same.append(records.record_inspection(inspection(held))))
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive() and not same  # waits for the venue's writer
    finally:
        release.set()
        holder.join(30)
    waiter.join(30)
    assert same and same[0]["venue_id"] == held
