"""INDICATORS: every indicator of the yearly report, computed once from the store."""
