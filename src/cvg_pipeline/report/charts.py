"""The report's charts: matplotlib (Agg-free SVG canvas, no pyplot), returned as inline SVG text.

The functions here draw what they are given and nothing else: the secret statistique is applied by the
caller (`report/build.py`), which passes ``None`` for a value that must not be drawn together with the text to
print in its place (``< 5``, ``s``, ``n.s.``). Output is deterministic (fixed hash salt per chart, no date, no
creator), text stays text (``svg.fonttype = "none"``: small files, searchable, readable by screen readers),
and ids are prefixed with the chart's name so that several charts can live in one HTML page.

matplotlib is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BLEU, ORANGE, VERT, GRIS, ROUGE = "#2b6a8e", "#e08a3c", "#6a9f4e", "#9aa3ab", "#b5475b"
SERIES = (BLEU, ORANGE, VERT, ROUGE, GRIS)
TEXTE = "#222222"
LARGEUR = 8.5  # inches (about the width of the HTML column: text keeps its size)
TAILLE = 9.0  # font size, points


class Barre:
    """One bar: `valeur` None is not drawn (masked or not computable); `etiquette` is printed anyway.

    Both may be given late: a callable for the value and any object for the label are read when the chart
    is drawn (the report declares its charts before the secret statistique has chosen what to hide)."""

    def __init__(self, libelle: str, valeur: float | Callable[[], float | None] | None, etiquette: object) -> None:
        self.libelle = libelle
        self._valeur = valeur
        self._etiquette = etiquette

    @property
    def valeur(self) -> float | None:
        return self._valeur() if callable(self._valeur) else self._valeur

    @property
    def etiquette(self) -> str:
        return str(self._etiquette)

    def __repr__(self) -> str:
        return f"Barre({self.libelle!r}, {self.valeur!r}, {self.etiquette!r})"


@contextmanager
def _style(nom: str) -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": f"cvg-{nom}",
            "font.family": ["DejaVu Sans"],
            "font.size": TAILLE,
            "text.parse_math": False,  # a "$" in a label is a dollar, never mathtext
            "axes.edgecolor": "#888888",
            "axes.labelcolor": TEXTE,
            "xtick.color": TEXTE,
            "ytick.color": TEXTE,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    ):
        yield


def _figure(hauteur: float) -> Figure:
    """A figure without a layout engine: margins are set from measured text (constrained layout doubles
    the drawing time)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(LARGEUR, hauteur))


def _largeur(textes: Sequence[str], taille: float = TAILLE) -> float:
    """Width in inches of the widest text (several lines: the widest line)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    font = FontProperties(family="DejaVu Sans", size=taille)
    widest = 0.0
    for texte in textes:
        for line in texte.split("\n"):
            if line:
                widest = max(widest, text_to_path.get_text_width_height_descent(line, font, ismath=False)[0])
    return widest / 72


def _axes(fig: Figure, gauche: float, droite: float, bas: float, haut: float,
          x0: float = 0.0, largeur: float | None = None) -> Axes:
    """Axes placed with margins in inches, inside the horizontal slice [x0, x0 + largeur] of the figure."""
    w, h = fig.get_size_inches()
    largeur = w - x0 if largeur is None else largeur
    return fig.add_axes((
        (x0 + gauche) / w, bas / h, max(largeur - gauche - droite, 0.5) / w, max(h - bas - haut, 0.3) / h
    ))


_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Figure, nom: str, description: str) -> str:
    """Serialise, strip the XML prologue and metadata, prefix ids, add the text alternative."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    prefix = f"{nom}-"
    text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}{m.group(1)}"', text)
    label = html.escape(description, quote=True)
    text = text.replace(
        "<svg ", f'<svg role="img" aria-labelledby="{prefix}titre" class="graphique" ', 1
    )
    head_end = text.index(">") + 1
    text = text[:head_end] + f'\n <title id="{prefix}titre">{label}</title>' + text[head_end:]
    # matplotlib ends lines of path data with a space: trim them (smaller file, stable diffs).
    return re.sub(r" +\n", "\n", text).strip() + "\n"


def _pct_tick(x: float, _pos: int) -> str:
    """A tick of a percentage axis: ``25 %``."""
    from cvg_pipeline import fr

    return f"{round(x)}{fr.NBSP}%"


def _pct_axis(ax: Axes, horizontal: bool) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    axis = ax.xaxis if horizontal else ax.yaxis
    axis.set_major_locator(MultipleLocator(25))
    axis.set_major_formatter(FuncFormatter(_pct_tick))
    (ax.set_xlim if horizontal else ax.set_ylim)(0, 108)
    ax.grid(axis="x" if horizontal else "y", color="#e3e6e8", linewidth=0.6)
    ax.set_axisbelow(True)


def _count_axis(ax: Axes, horizontal: bool, maximum: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from cvg_pipeline import fr

    axis = ax.xaxis if horizontal else ax.yaxis
    axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.entier(round(x))))
    (ax.set_xlim if horizontal else ax.set_ylim)(0, max(maximum, 1) * 1.15)
    ax.grid(axis="x" if horizontal else "y", color="#e3e6e8", linewidth=0.6)
    ax.set_axisbelow(True)


def _barh(ax: Axes, barres: Sequence[Barre], pourcentages: bool, couleur: str = BLEU) -> None:
    labels = [b.libelle for b in barres]
    positions = list(range(len(barres)))
    values = [b.valeur or 0.0 for b in barres]
    ax.barh(positions, values, color=[couleur if b.valeur is not None else GRIS for b in barres], height=0.62)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    maximum = max((b.valeur or 0.0 for b in barres), default=0.0)
    if pourcentages:
        _pct_axis(ax, horizontal=True)
    else:
        _count_axis(ax, horizontal=True, maximum=maximum)
    span = 100.0 if pourcentages else max(maximum, 1.0)
    for pos, barre in zip(positions, barres, strict=True):
        x = (barre.valeur or 0.0) + span * 0.01
        style = "normal" if barre.valeur is not None else "italic"
        ax.text(x, pos, barre.etiquette, va="center", ha="left", fontsize=8.5, color=TEXTE, fontstyle=style)


def barres_horizontales(nom: str, description: str, barres: Sequence[Barre], *, pourcentages: bool = True,
                        couleur: str = BLEU) -> str:
    """One horizontal bar per category (shares in % by default, or counts)."""
    with _style(nom):
        fig = _figure(0.2 + 0.3 * len(barres))
        ax = _axes(fig, _largeur([b.libelle for b in barres]) + 0.15, 0.55, 0.06, 0.06)
        _barh(ax, barres, pourcentages, couleur)
        # Every bar carries its value: no value axis (lighter to read, and fewer artists to draw).
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        return _svg(fig, nom, description)


def barres_verticales(nom: str, description: str, barres: Sequence[Barre], *, pourcentages: bool = True,
                      titre_x: str | None = None) -> str:
    """One vertical bar per category (for ordered categories such as a number of difficulties)."""
    with _style(nom):
        fig = _figure(2.4)
        ax = _axes(fig, 0.55, 0.1, 0.55 if titre_x else 0.3, 0.1)
        positions = list(range(len(barres)))
        ax.bar(positions, [b.valeur or 0.0 for b in barres],
               color=[BLEU if b.valeur is not None else GRIS for b in barres], width=0.65)
        ax.set_xticks(positions, [b.libelle for b in barres])
        ax.tick_params(axis="x", length=0)
        maximum = max((b.valeur or 0.0 for b in barres), default=0.0)
        if pourcentages:
            top = max(maximum * 1.25, 10.0)
            ax.set_ylim(0, top)
            from matplotlib.ticker import FuncFormatter, MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_formatter(FuncFormatter(_pct_tick))
            ax.grid(axis="y", color="#e3e6e8", linewidth=0.6)
            ax.set_axisbelow(True)
            span = top
        else:
            _count_axis(ax, horizontal=False, maximum=maximum)
            span = max(maximum, 1.0) * 1.15
        for pos, barre in zip(positions, barres, strict=True):
            ax.text(pos, (barre.valeur or 0.0) + span * 0.015, barre.etiquette, ha="center", va="bottom",
                    fontsize=8.5, color=TEXTE, fontstyle="normal" if barre.valeur is not None else "italic")
        if titre_x:
            ax.set_xlabel(titre_x)
        return _svg(fig, nom, description)


def panneaux(nom: str, description: str, groupes: Sequence[tuple[str, Sequence[Barre]]]) -> str:
    """Small multiples: one horizontal bar chart of shares per group, side by side."""
    with _style(nom):
        hauteur = 0.55 + 0.3 * max(len(barres) for _, barres in groupes)
        fig = _figure(hauteur)
        # Equal bar areas: each panel is as wide as its labels plus the same room for the bars, all on one
        # scale (the largest share of all panels), so that bars compare across panels.
        echelle = max((b.valeur or 0.0 for _, barres in groupes for b in barres), default=0.0) * 1.02 or 1.0
        marges = [_largeur([b.libelle for b in barres]) + 0.12 for _, barres in groupes]
        droite = 0.45
        barre = max((LARGEUR - sum(marges) - droite * len(groupes)) / len(groupes), 0.6)
        x0 = 0.0
        for (titre, barres), couleur, gauche in zip(groupes, SERIES, marges, strict=False):
            largeur = gauche + barre + droite
            ax = _axes(fig, gauche, droite, 0.08, 0.3, x0=x0, largeur=largeur)
            _barh(ax, barres, True, couleur)
            # baseline-aligned: a title starting with an accented capital (« Âge ») stays on the same line
            fig.text((x0 + 0.1) / LARGEUR, 1 - 0.24 / hauteur, titre, ha="left", va="baseline",
                     fontsize=10, fontweight="bold", color=TEXTE)
            x0 += largeur
            ax.set_xlim(0, echelle)
            ax.xaxis.set_visible(False)
            ax.spines["bottom"].set_visible(False)
            ax.grid(False)
        return _svg(fig, nom, description)


def empilees(nom: str, description: str, lignes: Sequence[tuple[str, Sequence[float | None], str]],
             series: Sequence[str]) -> str:
    """100 % stacked horizontal bars: one line per category, one segment per series.

    Each line is (label, shares in %, text printed after the bar). A line with a share that is not drawn
    (None: masked or not computable) is drawn empty with « non représenté » in italics: the other segments
    alone would start at the wrong place and give the hidden one back (100 − the others).
    """
    with _style(nom):
        fig = _figure(0.8 + 0.32 * len(lignes))
        ax = _axes(fig, _largeur([label for label, _, _ in lignes]) + 0.15, 0.1, 0.32, 0.4)
        positions = list(range(len(lignes)))
        starts = [0.0] * len(lignes)
        complete = [all(p is not None for p in parts) for _, parts, _ in lignes]
        for index, serie in enumerate(series):
            widths = [(parts[index] or 0.0) if ok else 0.0 for (_, parts, _), ok in zip(lignes, complete, strict=True)]
            ax.barh(positions, widths, left=starts, color=SERIES[index % len(SERIES)], height=0.62, label=serie)
            starts = [s + w for s, w in zip(starts, widths, strict=True)]
        ax.set_yticks(positions, [label for label, _, _ in lignes])
        ax.invert_yaxis()
        ax.tick_params(axis="y", length=0)
        _pct_axis(ax, horizontal=True)
        ax.set_xlim(0, 122)
        for pos, (_, _, texte), ok in zip(positions, lignes, complete, strict=True):
            ax.text(101, pos, texte, va="center", ha="left", fontsize=8.5, color=TEXTE)
            if not ok:
                ax.text(1, pos, "non représenté (secret statistique)", va="center", ha="left", fontsize=8,
                        color="#666666", fontstyle="italic")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(series), fontsize=8.5,
                  handlelength=1.2, borderaxespad=0.2)
        return _svg(fig, nom, description)


def matrice(nom: str, description: str, lignes: Sequence[str], colonnes: Sequence[str],
            valeurs: Sequence[Sequence[float | None]], textes: Sequence[Sequence[str]],
            titre_lignes: str, titre_colonnes: str) -> str:
    """A heat map (rows → columns) with the text of each cell; None cells are left blank (grey text)."""
    import numpy as np

    with _style(nom):
        fig = _figure(1.1 + 0.42 * len(lignes))
        ax = _axes(fig, _largeur(lignes, 8.5) + 0.45, 0.1, 0.08, 0.85)
        data = np.array([[v if v is not None else 0.0 for v in row] for row in valeurs], dtype=float)
        top = float(data.max()) if data.size else 0.0
        ax.imshow(data, cmap="Blues", vmin=0, vmax=max(top, 1.0), aspect="auto")
        ax.set_xticks(range(len(colonnes)), [_wrap(c) for c in colonnes], fontsize=8)
        ax.set_yticks(range(len(lignes)), lignes, fontsize=8.5)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xlabel(titre_colonnes, labelpad=8)
        ax.set_ylabel(titre_lignes, labelpad=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i, row in enumerate(textes):
            for j, texte in enumerate(row):
                v = valeurs[i][j]
                light = v is not None and top > 0 and v > top * 0.55
                ax.text(j, i, texte, ha="center", va="center", fontsize=8.5,
                        color="#ffffff" if light else (TEXTE if v is not None else "#666666"),
                        fontstyle="normal" if v is not None else "italic")
        return _svg(fig, nom, description)


def evolution(nom: str, description: str, annees: Sequence[str], series: Sequence[tuple[str, Sequence[Barre]]],
              taux_titre: str, taux: Sequence[Barre]) -> str:
    """Two panels: grouped bars of counts per year, and one rate per year."""
    with _style(nom):
        fig = _figure(2.6)
        left = _axes(fig, 0.6, 0.2, 0.3, 0.1, largeur=LARGEUR * 2 / 3)
        right = _axes(fig, 0.55, 0.1, 0.3, 0.3, x0=LARGEUR * 2 / 3, largeur=LARGEUR / 3)
        width = 0.8 / max(len(series), 1)
        maximum = max((b.valeur or 0.0 for _, barres in series for b in barres), default=0.0)
        for k, (label, barres) in enumerate(series):
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(annees))]
            left.bar(xs, [b.valeur or 0.0 for b in barres], width=width * 0.95, color=SERIES[k % len(SERIES)],
                     label=label)
            for x, b in zip(xs, barres, strict=True):
                left.text(x, (b.valeur or 0.0) + max(maximum, 1.0) * 0.02, b.etiquette, ha="center",
                          va="bottom", fontsize=7, color=TEXTE)
        left.set_xticks(range(len(annees)), annees)
        left.tick_params(axis="x", length=0)
        _count_axis(left, horizontal=False, maximum=maximum * 1.05)
        left.legend(loc="upper left", fontsize=8, ncols=len(series))
        left.set_ylim(0, max(maximum, 1.0) * 1.35)
        right.bar(range(len(annees)), [b.valeur or 0.0 for b in taux], color=BLEU, width=0.6)
        for i, b in enumerate(taux):
            right.text(i, (b.valeur or 0.0) + 2, b.etiquette, ha="center", va="bottom", fontsize=8.5, color=TEXTE,
                       fontstyle="normal" if b.valeur is not None else "italic")
        right.set_xticks(range(len(annees)), annees)
        right.tick_params(axis="x", length=0)
        _pct_axis(right, horizontal=False)
        right.set_title(taux_titre, loc="left", fontsize=9)
        return _svg(fig, nom, description)


def _wrap(text: str, width: int = 14) -> str:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "\n".join(lines)

