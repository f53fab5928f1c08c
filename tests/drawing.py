"""Draw only the charts a test looks at: matplotlib takes most of a report's build time (about half a second
for the dozen charts), and most report tests read one chart, or none."""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def _stand_in(nom: str, description: str, *_args: Any, **_kwargs: Any) -> str:
    """What stands for a chart not drawn: an empty SVG with the same title (the text alternative)."""
    return (f'<svg role="img" aria-labelledby="{nom}-titre" class="graphique">'
            f'<title id="{nom}-titre">{html.escape(description, quote=True)}</title></svg>\n')


@contextmanager
def drawing_only(*names: str) -> Iterator[None]:
    """While open, the report draws the charts `names` (their `nom`, e.g. "profil") and no other: every
    drawing function of cvg_pipeline.report.charts (those whose first parameter is `nom`) is wrapped."""
    from cvg_pipeline.report import charts

    def only(draw: Callable[..., str]) -> Callable[..., str]:
        def wrapped(nom: str, description: str, *args: Any, **kwargs: Any) -> str:
            return draw(nom, description, *args, **kwargs) if nom in names else _stand_in(nom, description)

        return wrapped

    with pytest.MonkeyPatch.context() as patch:
        for name, value in vars(charts).items():
            if (inspect.isfunction(value) and value.__module__ == charts.__name__ and not name.startswith("_")
                    and next(iter(inspect.signature(value).parameters), None) == "nom"):
                patch.setattr(charts, name, only(value))
        yield
