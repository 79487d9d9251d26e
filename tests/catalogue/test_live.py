"""A venue's live properties are declared once (catalogue.live) and read everywhere."""

import dataclasses
import datetime as dt

from layers.catalogue.entries import get_layer
from layers.catalogue.live import STATUSES, live_properties, shown_live_properties
from layers.catalogue.styles import VENUE_STATUS_COLORS, field_label, field_unit
from layers.ogc.features import queryables
from layers.records.inspections import VenueStatus, venue_status
from layers.web.openapi import properties_schema

VENUES = get_layer("venues")


def test_a_venue_status_has_exactly_the_declared_properties():
    declared = [p.name for p in live_properties(VENUES)]
    assert [f.name for f in dataclasses.fields(VenueStatus)] == declared
    status = venue_status("小网吧", "2026-01-05", 1, dt.date(2026, 3, 1))
    assert list(status.as_properties()) == declared
    assert status.as_properties()["open_hazards"] == 1
    assert status.as_properties()["status"] in STATUSES


def test_labels_units_schema_and_queryables_come_from_the_declaration():
    schema = properties_schema(VENUES)["properties"]
    for p in live_properties(VENUES):
        assert field_label(VENUES, p.name) == p.label
        assert field_unit(VENUES, p.name) == p.unit
        assert schema[p.name]["description"].startswith(p.label), p.name
    assert schema["status"]["enum"] == list(STATUSES)
    assert schema["last_inspection"]["nullable"] is True
    assert schema["open_hazards"] == {"type": "integer", "minimum": 0,
                                      "description": "未改隐患(处)"}
    assert [f.name for f in queryables(VENUES) if f.name not in
            {g.name for g in VENUES.fields}] == ["status"]
    # Popups and exports show the properties, not the flags.
    assert [p.name for p in shown_live_properties(VENUES)] == [
        "status", "last_inspection", "next_due", "open_hazards", "overdue_hazards",
        "rectification_overdue_days"]
    assert live_properties(get_layer("parcels")) == ()
    assert list(VENUE_STATUS_COLORS) != [] and set(VENUE_STATUS_COLORS) == set(STATUSES)
