"""The territoire given on the command line (`--territoire`), resolved the same way by every command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import UsageError

if TYPE_CHECKING:
    from cvg_pipeline.schema.load import Schema


def resolve_territoire(schema: Schema, raw: str) -> str:
    """The slug of a territoire given as slug, name or synonym; unknown → UsageError (exit 2) naming the
    closest one (« Vouliez-vous dire … ? ») and listing them all."""
    found = schema.match_territoire(raw)
    if found is not None:
        return found.slug
    close = schema.closest_territoire(raw, cutoff=0.5)
    slugs = ", ".join(t.slug for t in schema.territoires)
    hint = f" Vouliez-vous dire « {close.slug} » ?" if close else ""
    raise UsageError(f"territoire inconnu : « {raw} ».{hint} Territoires : {slugs}.")
