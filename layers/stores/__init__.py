"""Where data lives: the layer store, the spatial queries, records and accounts, embedded (SQLite,
in process) and PostGIS, and opening them.
"""
