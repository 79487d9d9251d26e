"""The planners' one map (一张图): the page, its analysis and exports, and their routes."""
