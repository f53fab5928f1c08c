"""How big the heavy tests run: a representative sample in `make test`, their full size in `make fuzz`
(HYPOTHESIS_PROFILE=fuzz: the property tests) and `make soak` (CVG_SOAK=1: the crash and interrupt loops)."""

from __future__ import annotations

import os

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
SOAK = bool(os.environ.get("CVG_SOAK"))


def examples(sample: int, full: int) -> int:
    """Hypothesis examples of a property test: `sample` in `make test`, `full` in `make fuzz`."""
    return full if FUZZ else sample


def runs(sample: int, full: int) -> int:
    """Iterations of a crash or interrupt loop: `sample` in `make test`, `full` in `make soak`."""
    return full if SOAK else sample
