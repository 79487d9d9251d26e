"""The SQLite schema of the embedded store: records, accounts, the audit log, the
login failures and the layers' versions, all in the file INSPECTIONS_DB."""

from __future__ import annotations

import sqlite3

_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

# The records as first released (later columns: ADDED_COLUMNS).
RECORDS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    venue_id TEXT NOT NULL,
    date TEXT NOT NULL,
    inspector TEXT NOT NULL,
    campaign TEXT,
    result TEXT NOT NULL CHECK (result IN ('合格', '发现隐患')),
    note TEXT,
    created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS inspections_venue ON inspections (venue_id, date);
CREATE TABLE IF NOT EXISTS hazards (
    id TEXT PRIMARY KEY,
    venue_id TEXT NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    found TEXT NOT NULL,
    deadline TEXT,
    status TEXT NOT NULL CHECK (status IN ('立案', '整改中', '已整改')),
    rectified TEXT
);
CREATE INDEX IF NOT EXISTS hazards_venue ON hazards (venue_id, status);
CREATE TABLE IF NOT EXISTS hazard_events (
    id INTEGER PRIMARY KEY,
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    status TEXT NOT NULL CHECK (status IN ('立案', '整改中', '已整改')),
    date TEXT NOT NULL,
    inspection_id TEXT REFERENCES inspections (id),
    actor TEXT,
    created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS hazard_events_hazard ON hazard_events (hazard_id);
-- Where the phone was when a record was made (WGS84; when the browser gave it).
CREATE TABLE IF NOT EXISTS inspection_positions (
    inspection_id TEXT PRIMARY KEY REFERENCES inspections (id),
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    accuracy_m REAL
);
"""

# Corrections of inspections (layers/records/corrections.py): one row each, never deleted;
# `changes` is JSON {field: {"old": ..., "new": ...}}; `void` marks a voiding (作废).
CORRECTIONS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS inspection_corrections (
    id INTEGER PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    at TEXT NOT NULL DEFAULT {_NOW},
    actor TEXT NOT NULL,
    actor_name TEXT,
    reason TEXT NOT NULL,
    void INTEGER NOT NULL DEFAULT 0,
    changes TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS inspection_corrections_inspection
    ON inspection_corrections (inspection_id);
"""

# Photos of records (layers/records/photos.py): an inspection's (inspection_id) or a
# hazard's 整改中 step (hazard_id); the image bytes and thumbnail last, so that reading
# a photo's fields does not read its bytes.
PHOTOS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY,
    inspection_id TEXT REFERENCES inspections (id),
    hazard_id TEXT REFERENCES hazards (id),
    media_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    taken_at TEXT,
    lon REAL,
    lat REAL,
    created_at TEXT NOT NULL DEFAULT {_NOW},
    content BLOB NOT NULL,
    thumb BLOB NOT NULL,
    CHECK ((inspection_id IS NULL) <> (hazard_id IS NULL))
);
CREATE INDEX IF NOT EXISTS photos_inspection ON photos (inspection_id);
CREATE INDEX IF NOT EXISTS photos_hazard ON photos (hazard_id);
"""

# The accounts as first released (later columns: ADDED_COLUMNS).
ACCOUNTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures (address, at);
CREATE TABLE IF NOT EXISTS id_numbers (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_name TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    at REAL NOT NULL,
    result TEXT,
    PRIMARY KEY (user_name, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_at ON idempotency_keys (at);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_name ON sessions (name);
"""

AUDIT_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL DEFAULT {_NOW},
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    summary TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, at);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, at);
"""

# The layers' versions (layers/stores/versions.py): each version's features, compressed;
# the head of each layer is the version served.
LAYERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_versions (
    layer TEXT NOT NULL,
    version INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    features INTEGER NOT NULL,
    changes TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (layer, version)
);
CREATE INDEX IF NOT EXISTS layer_versions_fingerprint ON layer_versions (layer, fingerprint);
CREATE TABLE IF NOT EXISTS layer_heads (
    layer TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
"""

# Columns added after the first release, for stores made before them.
ADDED_COLUMNS = {
    "inspections": {"recorded_by": "TEXT", "voided": "INTEGER NOT NULL DEFAULT 0"},
    "hazards": {"voided": "INTEGER NOT NULL DEFAULT 0"},
    "users": {"disabled": "INTEGER NOT NULL DEFAULT 0", "epoch": "INTEGER NOT NULL DEFAULT 0"},
    # NULL: the version's content is a whole copy; else a delta on this version
    "layer_versions": {"parent": "INTEGER"},
}


def create(db: sqlite3.Connection) -> None:
    """Every table of the store (idempotent), with the columns added since."""
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(RECORDS_SCHEMA + CORRECTIONS_SCHEMA + PHOTOS_SCHEMA + ACCOUNTS_SCHEMA
                     + AUDIT_SCHEMA + LAYERS_SCHEMA)
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
