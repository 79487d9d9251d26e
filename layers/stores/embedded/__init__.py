"""The embedded store: records and accounts in one SQLite file (INSPECTIONS_DB, WAL),
spatial queries over the layer store's STRtrees in process; each module speaks SQLite's
SQL (`?` parameters) to the tables of schema.py.
"""
