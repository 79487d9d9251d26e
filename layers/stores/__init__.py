"""Where data lives, behind the interfaces of interfaces.py: the layer store (layers.py,
visibility.py), the spatial queries' shared measures (spatial.py), and two databases
side by side, each with its own SQL — embedded/ (SQLite, in-process STRtrees) and
postgis/ (PostgreSQL + PostGIS); opening.py picks one, cli.py holds the `db` commands.
"""
