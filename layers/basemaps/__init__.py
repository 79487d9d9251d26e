"""Basemaps: the configured tile sources, the caching tile proxy (/tiles), seeding the
cache for offline use (`flask tiles`), and the basemap switch of the pages.
"""
