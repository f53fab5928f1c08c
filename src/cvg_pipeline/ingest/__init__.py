"""INGEST: discovery and orchestration of a run, and the analyst's month (suivi)."""
