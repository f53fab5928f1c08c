"""The blank reporting workbook, generated from `schemas/` (work in progress)."""

from __future__ import annotations

from pathlib import Path

from cvg_pipeline.errors import CvgError


def write_template(path: Path) -> Path:
    raise CvgError("La commande « cvg template » n'est pas encore disponible.")
