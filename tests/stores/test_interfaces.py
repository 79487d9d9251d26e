"""Each store implements the interfaces of layers/stores/interfaces.py, with its own SQL.

mypy checks the types where the stores are opened (layers/stores/opening.py); here the
members and their parameters' names are compared at run time, and the two databases'
implementations are checked to share no class and no driver."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from layers.records.book import InspectionRecords
from layers.records.users import Accounts
from layers.stores import interfaces
from layers.stores.embedded.records import SqliteRecords, SqliteRecordWrites
from layers.stores.embedded.spatial import MemorySpatial
from layers.stores.embedded.users import SqliteAccounts, SqliteAccountWrites
from layers.stores.layers import LayerStore
from layers.stores.postgis.records import PostgisRecords, PostgisRecordWrites
from layers.stores.postgis.spatial import PostgisSpatial
from layers.stores.postgis.users import PostgisAccounts, PostgisAccountWrites
from layers.stores.visibility import VisibleLayers

STORES = Path(__file__).resolve().parents[2] / "layers" / "stores"
IMPLEMENTATIONS = [
    (interfaces.Layers, LayerStore),
    (interfaces.Layers, VisibleLayers),
    (interfaces.SpatialStore, MemorySpatial),
    (interfaces.SpatialStore, PostgisSpatial),
    (interfaces.RecordStore, InspectionRecords),
    (interfaces.UserStore, Accounts),
    (interfaces.RecordTables, SqliteRecords),
    (interfaces.RecordTables, PostgisRecords),
    (interfaces.RecordWrites, SqliteRecordWrites),
    (interfaces.RecordWrites, PostgisRecordWrites),
    (interfaces.AccountTables, SqliteAccounts),
    (interfaces.AccountTables, PostgisAccounts),
    (interfaces.AccountWrites, SqliteAccountWrites),
    (interfaces.AccountWrites, PostgisAccountWrites),
]


def members(protocol: type) -> dict[str, inspect.Signature]:
    """The methods a protocol declares, its bases' too."""
    found: dict[str, inspect.Signature] = {}
    for cls in reversed(protocol.__mro__):
        if cls is object or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if inspect.isfunction(value) and not name.startswith("_"):
                found[name] = inspect.signature(value)
    return found


@pytest.mark.parametrize(("protocol", "implementation"), IMPLEMENTATIONS,
                         ids=lambda c: c.__name__)
def test_the_store_has_every_method_of_its_interface(protocol, implementation):
    declared = members(protocol)
    assert declared, protocol
    for name, signature in declared.items():
        method = getattr(implementation, name, None)
        assert callable(method), f"{implementation.__name__} has no {name}"
        wanted = [(p.name, p.default) for p in signature.parameters.values()]
        got = [(p.name, p.default) for p in inspect.signature(method).parameters.values()]
        assert got == wanted, f"{implementation.__name__}.{name}"


def imported_modules(package: Path) -> set[str]:
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


def test_each_database_speaks_its_own_sql():
    """No SQLite in the PostGIS store, no PostgreSQL in the embedded one, and neither
    imports the other."""
    postgis, embedded = imported_modules(STORES / "postgis"), imported_modules(STORES / "embedded")
    assert not {m for m in postgis if m == "sqlite3" or m.startswith("layers.stores.embedded")}
    assert not {m for m in embedded if m.startswith(("psycopg", "layers.stores.postgis"))}
    for _, implementation in IMPLEMENTATIONS:
        modules = {cls.__module__ for cls in implementation.__mro__}
        assert not ({m for m in modules if m.startswith("layers.stores.embedded")}
                    and {m for m in modules if m.startswith("layers.stores.postgis")})
