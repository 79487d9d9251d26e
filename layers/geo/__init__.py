"""Geography: coordinate systems and transformers, GCJ-02/BD-09, clusters."""
