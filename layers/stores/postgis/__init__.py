"""The PostGIS store: records, accounts and the layers' spatial queries in PostgreSQL.

Chosen by DATABASE_URL (`postgresql://user:password@host:5432/dbname`, see
server.py). It implements the interfaces of layers/stores/interfaces.py with its
own SQL (psycopg, `%s` parameters, `sql.Identifier`) over the tables of schema.py:

- `database.Database`: the pool of connections of a process, the schema;
- `records.PostgisRecords` / `users.PostgisAccounts`: the records' and the accounts'
  tables; a write holds a transaction-level advisory lock, as SQLite's BEGIN
  IMMEDIATE holds the write lock, so ids stay unique across every worker of
  every app server;
- `spatial.PostgisSpatial`: one table per layer, `layer_<name>`, with the
  geometry in EPSG:4548 (`geom`, GiST) and in WGS84 (`geom_wgs84`, GiST) and the
  GeoJSON feature as the app serves it;
- `layers.load_layers`: writes the layer store into those tables.
"""
