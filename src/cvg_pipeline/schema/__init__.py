"""The schema of the reporting file (schemas/reporting.toml): loading it, finding it, describing it."""
