"""STORE: the embedded DuckDB store — open, create, migrate, lock, index, back up, extract."""
