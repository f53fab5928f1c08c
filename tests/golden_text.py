"""Golden files of the reports without matplotlib's SVG bodies.

A report's HTML inlines one SVG per chart: thousands of lines of path data and pixel coordinates that change
with every matplotlib release and make a diff unreadable. The goldens keep everything else byte for byte and
replace each chart's SVG body by a stable summary of what it shows:

- its opening tag (role, aria-labelledby, class, size) and its <title> (the text alternative: every bar's
  label and printed value), as rendered;
- every text it prints, in order (labels, values, ticks, legend, panel titles), as rendered;
- what it plots, in data coordinates, read from the matplotlib figure when it is saved
  (`figures_recorded`): each axes' limits, each bar's extent and colour, each heat-map cell's value.

So a changed value, label, colour or caption fails the golden with a diff a person can read, and a
matplotlib release that only moves pixels does not.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Figures = dict[str, list[str]]  # chart name → lines of its plotted data

_SVG = re.compile(r"<svg (?P<attrs>[^>]*)>(?P<body>.*?)</svg>\n?", re.S)
_ATTR = re.compile(r'(\w[\w:-]*)="([^"]*)"')
_KEPT = ("role", "aria-labelledby", "class", "width", "height")
_TITLE = re.compile(r"<title\b[^>]*>.*?</title>", re.S)
_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)
_SALT = "cvg-"  # charts.py saves each chart under rcParams["svg.hashsalt"] = "cvg-<chart name>"


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _color(rgba: Any) -> str:
    from matplotlib.colors import to_hex

    return str(to_hex(rgba))


def figure_data(fig: Any) -> list[str]:
    """What a figure plots, in data coordinates (no pixel, no matplotlib-chosen layout)."""
    from matplotlib.patches import Rectangle

    lines = []
    for k, ax in enumerate(fig.axes, 1):
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        lines.append(f"axes {k} : x {_num(x0)} → {_num(x1)}, y {_num(y0)} → {_num(y1)}")
        for patch in ax.patches:
            if isinstance(patch, Rectangle):
                x, y, w, h = patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()
                lines.append(f"  barre x {_num(x)} → {_num(x + w)}, y {_num(y)} → {_num(y + h)}, "
                             f"{_color(patch.get_facecolor())}")
        for image in ax.images:
            for row in image.get_array().tolist():
                lines.append("  cases " + " | ".join(_num(v) for v in row))
    return lines


@contextmanager
def figures_recorded() -> Iterator[Figures]:
    """Record what every chart saved while open plots (`figure_data`), under the chart's name."""
    import matplotlib
    from matplotlib.figure import Figure

    figures: Figures = {}
    original = Figure.savefig

    def savefig(self: Figure, *args: Any, **kwargs: Any) -> Any:
        salt = str(matplotlib.rcParams["svg.hashsalt"])
        figures[salt.removeprefix(_SALT) if salt.startswith(_SALT) else f"figure-{len(figures) + 1}"] = (
            figure_data(self))
        return original(self, *args, **kwargs)

    Figure.savefig = savefig  # type: ignore[method-assign]
    try:
        yield figures
    finally:
        Figure.savefig = original  # type: ignore[method-assign]


def _summary(match: re.Match[str], figures: Figures) -> str:
    attrs = dict(_ATTR.findall(match["attrs"]))
    kept = " ".join(f'{name}="{attrs[name]}"' for name in _KEPT if name in attrs)
    body = match["body"]
    title = _TITLE.search(body)
    name = attrs.get("aria-labelledby", "").removesuffix("-titre")
    lines = [f"<svg {kept}>"]
    if title:
        lines.append(" " + title[0])
    lines.append(" [corps SVG remplacé par son résumé : tests/golden_text.py]")
    lines += ["  " + text for text in _TEXT.findall(body)]
    plotted = figures.get(name)
    lines += [" " + line for line in plotted] if plotted is not None else [" (données non enregistrées)"]
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def stable_text(text: str, figures: Figures) -> str:
    """`text` with each inline SVG replaced by its summary (text without SVG is returned unchanged)."""
    return _SVG.sub(lambda m: _summary(m, figures), text)


def compare(path: Path, text: str, figures: Figures, *, update: bool) -> str | None:
    """Compare the stable form of `text` with the golden file `path` (rewritten when `update`): None when
    they are equal, else the first lines of a unified diff."""
    stable = stable_text(text, figures)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stable, encoding="utf-8")
        return None
    if not path.exists():
        return f"{path} is missing: run `make golden` and review the files"
    expected = path.read_text(encoding="utf-8")
    if stable == expected:
        return None
    return "".join(list(difflib.unified_diff(
        expected.splitlines(keepends=True), stable.splitlines(keepends=True), str(path), "rendered"
    ))[:80])
