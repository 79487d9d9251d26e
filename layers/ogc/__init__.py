"""OGC API - Features: the request logic and its routes."""
