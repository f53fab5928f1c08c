"""The audit's reference definition for the tests: which hidden cells an adversary pins too narrowly."""

from __future__ import annotations

from cvg_pipeline.report.secret.model import Model, required_width
from cvg_pipeline.report.secret.verify import Interval


def exposed(model: Model, found: dict[str, Interval]) -> list[str]:
    """The hidden cells whose interval is narrower than `required_width` asks."""
    return [k for k, iv in found.items() if iv.width < required_width(model.seuil, model.cells[k].status)]
