"""What the app asks of its stores, as typing Protocols.

Two kinds of interface live here:

- the ones routes and features type against: `Layers` (the layers as loaded,
  or as a role may see them), `SpatialStore` (per-request spatial queries),
  `RecordStore` (inspections, hazards, venue statuses) and `UserStore` (accounts,
  logins, the audit log). `layers.records.book.InspectionRecords`
  and `layers.records.users.Accounts` implement the last two once, with their
  rules, over
- the primitive reads and writes a database provides: `RecordTables` (with
  `RecordReads`/`RecordWrites` inside a transaction), `AccountTables` (with
  `AccountReads`/`AccountWrites`), and the parts of them the audit log
  (`AuditSink`, `AuditReader`) and the login rate limit (`LoginFailures`) use.
  The embedded store (`layers.stores.embedded`, SQLite) and the PostGIS store
  (`layers.stores.postgis`) each implement them with their own SQL.

Ids come from sequences. A write transaction on PostgreSQL locks only the venue
it writes (`lock_venue`: an advisory lock per venue), so writers of different
venues run at once; SQLite has one writer at a time anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from layers.records.audit import AuditQuery
    from layers.records.corrections import Correction, Corrector
    from layers.records.idempotency import Once
    from layers.records.inspections import NewInspection, NewRecheck, VenueKey, VenueStatus
    from layers.records.photos import NewPhoto
    from layers.records.users import User
    from layers.stores.layers import LoadedLayer
    from layers.stores.spatial import BBox, Feature, Keep, Nearby

Row = dict[str, Any]
RecordTable = Literal["inspections", "hazards"]
# The records' readable ids: the prefix and a number, INS000123, HZ00359 (book.py pads).
ID_PREFIXES: dict[RecordTable, str] = {"inspections": "INS", "hazards": "HZ"}

# --- what routes and features use ----------------------------------------------------


class Layers(Protocol):
    """The layers, each loaded and indexed once (`layers.stores.layers.LayerStore`), or
    the ones a set of roles may see (`layers.stores.visibility.VisibleLayers`)."""

    def get(self, name: str) -> LoadedLayer:
        """The layer; UnknownLayer (404) if there is none, or 401/403 if hidden."""
        ...

    def __iter__(self) -> Iterator[LoadedLayer]: ...
    def names(self) -> tuple[str, ...]: ...


class SpatialStore(Protocol):
    """The per-request spatial queries over the layers (lon/lat in, GeoJSON out)."""

    def nearby(self, layer: str, lon: float, lat: float, radius_m: float,
               limit: int | None = None, kinds: frozenset[str] | None = None,
               keep: Keep | None = None, offset: int = 0) -> Nearby:
        """Features within radius_m (geodesic) of the point, nearest first, after the
        `offset` nearest; `kinds` keeps those whose `kind` is one of them, `keep` those
        whose ids it returns. `total` counts all within the radius kept."""
        ...

    def in_bbox(self, layer: str, bbox: BBox) -> list[Feature]:
        """Features that intersect a lon/lat bbox, in layer order."""
        ...

    def ids_in_bbox(self, layer: str, bbox: BBox) -> list[str]:
        """The ids of `in_bbox`'s features, in layer order (a query that pages, filters and
        writes the process's features needs no more of the store)."""
        ...

    def feature(self, layer: str, feature_id: str) -> Feature | None:
        ...

    def tile(self, layer: str, z: int, y: int, x: int) -> bytes:
        """The layer's Mapbox Vector Tile z/y/x of WebMercatorQuad (layers/geo/tiles.py);
        empty bytes when no feature meets it."""
        ...

    def containing(self, layer: str, lon: float, lat: float) -> list[Feature]:
        """Features that contain (or touch) the point, in layer order."""
        ...

    def distance_m(self, layer: str, lon: float, lat: float) -> float | None:
        """Geodesic distance to the layer's nearest feature (None when it is empty)."""
        ...


class RecordStore(Protocol):
    """Inspections, hazards and the venues' statuses."""

    def is_empty(self) -> bool: ...
    def seed_from_csv(self, inspections_csv: Path, hazards_csv: Path) -> None: ...
    def last_inspections(self) -> dict[str, str]: ...
    def open_hazard_counts(self) -> dict[str, int]: ...
    def statuses(self, venues: Iterable[VenueKey], today: dt.date
                 ) -> dict[str, VenueStatus]: ...
    # `once`: the request's Idempotency-Key (records/idempotency.py).
    # `photos`: checked and cleaned (records/photos.py), stored in the record's transaction.
    def record_inspection(self, new: NewInspection, recorded_by: str | None = None,
                          once: Once | None = None, photos: Sequence[NewPhoto] = ()
                          ) -> dict[str, Any]: ...
    def start_rectification(self, hazard_id: str, date: dt.date, actor: str | None,
                            by: str | None = None, once: Once | None = None,
                            photos: Sequence[NewPhoto] = ()) -> dict[str, Any]: ...
    def record_recheck(self, new: NewRecheck, recorded_by: str | None = None,
                       once: Once | None = None, photos: Sequence[NewPhoto] = ()
                       ) -> dict[str, Any]: ...
    def correct_inspection(self, inspection_id: str, correction: Correction,
                           user: Corrector, today: dt.date, once: Once | None = None
                           ) -> dict[str, Any]: ...
    def photo_image(self, photo_id: int, thumb: bool = False) -> dict[str, Any] | None:
        """A photo's image (or thumbnail): media_type, sha256, data; None if there is none."""
        ...
    def photo_count(self) -> int: ...
    def history(self, venue_id: str, limit: int = 50) -> dict[str, Any]: ...
    def hazard(self, hazard_id: str) -> dict[str, Any]: ...
    def inspections_since(self, date: dt.date) -> int: ...


class UserStore(Protocol):
    """The accounts: users, their changes (each audited), logins, the audit log."""

    def get(self, name: str) -> User | None: ...
    def all(self) -> list[User]: ...
    def create(self, name: str, password: str, role: str, display_name: str | None = None,
               by: str | None = None) -> User: ...
    def set_role(self, name: str, role: str, by: str) -> User: ...
    def set_password(self, name: str, password: str, by: str) -> None: ...
    def set_disabled(self, name: str, disabled: bool, by: str) -> User: ...
    def login(self, name: str, password: str, address: str, device: str | None = None
              ) -> User | int | None: ...
    def open_session(self, name: str) -> str: ...
    def session_user(self, sid: str, name: str) -> User | None: ...
    def end_session(self, sid: str, name: str) -> None: ...
    def end_sessions(self, name: str, by: str) -> int: ...
    def audit_log(self, query: AuditQuery) -> dict[str, Any]: ...
    def audit_transaction(self) -> AbstractContextManager[AuditSink]: ...


# --- the audit log and the login rate limit: what their rules need stored ------------


class AuditSink(Protocol):
    """Where an audit row is added: the transaction of the change it records."""

    def add_audit_row(self, actor: str, action: str, object_type: str | None,
                      object_id: str | None, summary: str) -> None: ...
    def recent_audit_rows(self, action: str, object_id: str, since: str
                          ) -> list[tuple[int, str]]:
        """(id, summary) of the rows of `action` on `object_id` at or after `since` (an
        ISO UTC time), newest first: what a summarised row may be added to."""
        ...

    def set_audit_summary(self, row_id: int, summary: str) -> None: ...


class AuditReader(Protocol):
    def audit_rows(self, query: AuditQuery) -> tuple[int, list[Row]]:
        """The total of rows matching the query's filters, and its page of them, newest
        first (columns id, at, actor, action, object_type, object_id, summary)."""
        ...


class LoginFailures(Protocol):
    """The failed logins kept for the rate limit: of a name, from an address, or of the
    pair (both given)."""

    def failure_times(self, after: float, limit: int, name: str | None = None,
                      address: str | None = None) -> list[float]:
        """The newest `limit` failure times after `after` of `name` and/or from
        `address`, newest first."""
        ...

    def add_failure(self, name: str, address: str, at: float) -> None: ...
    def forget_failures(self, until: float) -> None:
        """Drop the failures at or before `until`."""
        ...

    def clear_failures(self, name: str, address: str) -> None: ...


# --- the records' primitive reads and writes -------------------------------------------

# The columns a correction may set (layers/records/corrections.py).
CORRECTABLE_INSPECTION_COLUMNS = ("date", "venue_id", "result", "note", "voided")
CORRECTABLE_HAZARD_COLUMNS = ("venue_id", "found", "status", "rectified", "voided")


class CorrectionReads(Protocol):
    """The corrections of inspections (layers/records/corrections.py)."""

    def corrections(self, inspection_id: str) -> list[Row]:
        """id, at, actor, actor_name, reason, void, changes (JSON text) of each, in order."""
        ...

    def correction_state(self, inspection_id: str) -> Row | None:
        """recorded_at (ISO UTC, when the record was stored) and voided (0 or 1)."""
        ...


class CorrectionWrites(CorrectionReads, Protocol):
    def update_inspection(self, inspection_id: str, changes: Mapping[str, Any]) -> None:
        """Set CORRECTABLE_INSPECTION_COLUMNS of the inspection."""
        ...

    def update_hazard(self, hazard_id: str, changes: Mapping[str, Any]) -> None:
        """Set CORRECTABLE_HAZARD_COLUMNS of the hazard."""
        ...

    def set_event_dates(self, inspection_id: str, status: str, date: str) -> None:
        """The date of the hazard events of `status` that the inspection made."""
        ...

    def add_correction(self, row: Row) -> None:
        """inspection_id, actor, actor_name, reason, void (0/1), changes (JSON text)."""
        ...



class RecordReads(CorrectionReads, Protocol):
    """Reads inside one transaction; rows are dicts in the tables' column order."""

    def inspection(self, inspection_id: str) -> Row | None:
        """id, venue_id, date, inspector, campaign, result, note, recorded_by."""
        ...

    def hazard(self, hazard_id: str) -> Row | None: ...
    def hazards_found(self, inspection_id: str) -> list[Row]:
        """The hazards an inspection filed, by id."""
        ...

    def hazards_moved(self, inspection_id: str, status: str) -> list[Row]:
        """The hazards an inspection moved to `status` (its events), by id."""
        ...

    def hazard_events(self, hazard_id: str) -> list[Row]:
        """status, date, inspection_id, actor of each event, in order."""
        ...

    def venue_inspection_ids(self, venue_id: str, limit: int) -> list[str]:
        """Newest first (date, then when recorded, then id)."""
        ...

    def venue_inspection_count(self, venue_id: str) -> int: ...
    def venue_hazards(self, venue_id: str, statuses: Sequence[str]) -> list[Row]:
        """The venue's hazards in these statuses, by date found and id."""
        ...

    def last_inspections(self, venue_ids: Sequence[str] | None = None) -> dict[str, str]:
        """venue_id -> date of its latest inspection (of these venues; None: all)."""
        ...

    def hazard_counts(self, statuses: Sequence[str], venue_ids: Sequence[str] | None = None
                      ) -> dict[str, int]:
        """venue_id -> how many of its hazards are in these statuses (None: every venue)."""
        ...

    def inspection_position(self, inspection_id: str) -> Row | None:
        """lon, lat, accuracy_m of where the phone was, when it was given."""
        ...

    def inspections_since(self, date: str) -> int:
        """How many inspections are dated on or after `date`."""
        ...

    def late_hazards(self, statuses: Sequence[str], before: str,
                     venue_ids: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
        """venue_id -> (how many of its hazards in these statuses have a deadline before
        `before`, the earliest such deadline), for venues that have any (None: every venue)."""
        ...

    def venue_records(self, venue_ids: Sequence[str], statuses: Sequence[str], before: str
                      ) -> tuple[dict[str, str], dict[str, int], dict[str, tuple[int, str]]]:
        """What a few venues' statuses need, by index: (last_inspections, hazard_counts,
        late_hazards) of these venues, as those three say (PostGIS: in one statement)."""
        ...

    # Photos (layers/records/photos.py).
    def photos_of(self, inspection_id: str | None = None, hazard_id: str | None = None
                  ) -> list[Row]:
        """The fields of the photos of an inspection or of a hazard's 整改中 step, in the
        order sent: id, width, height, sha256, taken_at, lon, lat (never their bytes)."""
        ...

    def photo_image(self, photo_id: int, thumb: bool) -> Row | None:
        """media_type, sha256 and `data` (the image, or its JPEG thumbnail)."""
        ...

    def photo_count(self) -> int: ...


class RecordWrites(RecordReads, CorrectionWrites, AuditSink, Protocol):
    """A write transaction that holds the records' write lock."""

    def next_number(self, table: RecordTable) -> int:
        """The number of the table's next id (`ID_PREFIXES`), never given before: from a
        sequence, with no scan and no lock (a rolled-back write leaves a gap)."""
        ...

    def lock_venue(self, venue_id: str) -> None:
        """Hold the venue's write lock until the transaction ends: writers of the same
        venue (or its hazards) wait for each other, no one else does."""
        ...

    def insert_inspection(self, row: Row) -> None:
        """id, venue_id, date, inspector, campaign, result, note, recorded_by."""
        ...

    def insert_position(self, inspection_id: str, lon: float, lat: float,
                        accuracy_m: float | None) -> None: ...

    def insert_hazard(self, row: Row) -> None:
        """id, venue_id, inspection_id, category, description, found, deadline, status."""
        ...

    def set_hazard_status(self, hazard_id: str, status: str,
                          rectified: str | None = None) -> None:
        """The hazard's status (and its date rectified, when given)."""
        ...

    def add_hazard_event(self, hazard_id: str, status: str, date: str,
                         inspection_id: str | None, actor: str | None) -> None: ...

    def insert_photo(self, inspection_id: str | None, hazard_id: str | None,
                     photo: NewPhoto) -> int:
        """Store a photo of an inspection or of a hazard's 整改中 step; its id."""
        ...

    # Idempotency keys (layers/records/idempotency.py: `KeyTable`).
    def claim_key(self, user: str, key: str, fingerprint: str, now: float,
                  expired_before: float) -> Row | None: ...
    def set_key_result(self, user: str, key: str, result: str) -> None: ...
    def forget_keys(self, expired_before: float) -> None: ...


class RecordTables(Protocol):
    """The records' tables in one database."""

    def reading(self) -> AbstractContextManager[RecordReads]:
        """A read transaction (one consistent view)."""
        ...

    def glancing(self) -> AbstractContextManager[RecordReads]:
        """Reads for the few rows of a hot query, each seeing every commit before it (the
        embedded store: this thread's kept connection, no transaction to open)."""
        ...

    def writing(self) -> AbstractContextManager[RecordWrites]: ...
    def is_empty(self) -> bool: ...
    def seed(self, inspections: Sequence[Row], hazards: Sequence[Row]) -> None:
        """Insert these rows, in one transaction, unless there are inspections already."""
        ...


# --- the accounts' primitive reads and writes ------------------------------------------


class AccountReads(AuditReader, Protocol):
    def user(self, name: str) -> User | None: ...
    def users(self) -> list[User]:
        """Every user, by name."""
        ...

    def session_name(self, sid: str) -> str | None:
        """Whose the server-side session `sid` is; None: it has ended."""
        ...


class AccountWrites(AccountReads, AuditSink, LoginFailures, Protocol):
    """A write transaction on the accounts; the locked ones hold their write lock."""

    def password_hash(self, name: str) -> str | None: ...
    def active_admins(self) -> int:
        """How many users have the role admin and are not disabled."""
        ...

    def insert_user(self, name: str, display_name: str, role: str, password_hash: str
                    ) -> bool:
        """False (and nothing written) when the name is taken."""
        ...

    # Each of these also ends the user's sessions (bumps their epoch).
    def set_role(self, name: str, role: str) -> None: ...
    def set_password_hash(self, name: str, password_hash: str) -> None: ...
    def set_disabled(self, name: str, disabled: bool) -> None: ...

    # Server-side sessions: a login's row, which logging out deletes.
    def add_session(self, sid: str, name: str, started: float) -> None: ...
    def end_session(self, sid: str) -> None: ...
    def end_sessions(self, name: str, started_before: float | None = None) -> int:
        """End every session of `name` (or, with started_before, every session of anyone
        started before then); how many ended."""
        ...


class AccountTables(Protocol):
    """The accounts' tables (users, login failures, the audit log) in one database."""

    def reading(self) -> AbstractContextManager[AccountReads]: ...
    def writing(self, lock: bool = True) -> AbstractContextManager[AccountWrites]:
        """A transaction for changes; `lock`: holding the accounts' write lock from its
        start (without: the audit row of a change made elsewhere, e.g. a file swapped)."""
        ...
