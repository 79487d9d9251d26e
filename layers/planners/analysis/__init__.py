"""The planners' spatial analysis (no Flask), one module per job:

- areas.py: reading an area drawn on the map, measuring it, and what lies inside it;
- communities.py: a community by name or by point, its summary, the choropleth of an
  indicator over the communities;
- service_areas.py: the coverage of garbage points and reading sites, per community.

The routes (analysis_routes.py), pages and OpenAPI section use these names from here.
"""

from layers.planners.analysis.areas import (
    AREA_TYPES,
    LINE_TYPES,
    MAX_AREA_M2,
    MAX_VERTICES,
    measure,
    read_geometry,
    summarize,
)
from layers.planners.analysis.communities import (
    CHOROPLETH_COLORS,
    INDICATORS,
    choropleth,
    community_at,
    community_position,
    community_summary,
    equal_interval_classes,
    get_indicator,
)
from layers.planners.analysis.service_areas import (
    COVERAGE_LABELS,
    GARBAGE_WALK_M,
    READING_CIRCLE_M,
    READING_SITES,
    coverage,
)

__all__ = [
    "AREA_TYPES",
    "CHOROPLETH_COLORS",
    "COVERAGE_LABELS",
    "GARBAGE_WALK_M",
    "INDICATORS",
    "LINE_TYPES",
    "MAX_AREA_M2",
    "MAX_VERTICES",
    "READING_CIRCLE_M",
    "READING_SITES",
    "choropleth",
    "community_at",
    "community_position",
    "community_summary",
    "coverage",
    "equal_interval_classes",
    "get_indicator",
    "measure",
    "read_geometry",
    "summarize",
]
