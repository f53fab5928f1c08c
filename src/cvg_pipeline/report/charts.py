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
NON_REPRESENTE = "non représenté (secret statistique)"  # said where a chart has nothing to draw
LARGEUR = 8.5  # inches (about the width of the HTML column: text keeps its size)
TAILLE = 9.0  # font size, points
BARRES = 4.6  # inches for the bars of a horizontal bar chart (its labels' width comes on top)


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


def _figure(hauteur: float, largeur: float = LARGEUR) -> Figure:
    """A figure without a layout engine: margins are set from measured text (constrained layout doubles
    the drawing time). A chart that needs less than the full width is drawn narrower (`largeur` inches): the
    report shows every chart at the same scale (its width in the SVG over LARGEUR), so that its text keeps
    the size of the others' and a table can sit beside it."""
    from matplotlib.figure import Figure

    return Figure(figsize=(min(largeur, LARGEUR), hauteur))


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
        gauche = _largeur([b.libelle for b in barres]) + 0.15
        fig = _figure(0.2 + 0.3 * len(barres), gauche + BARRES + 0.55)
        ax = _axes(fig, gauche, 0.55, 0.06, 0.06)
        _barh(ax, barres, pourcentages, couleur)
        # Every bar carries its value: no value axis (lighter to read, and fewer artists to draw).
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        return _svg(fig, nom, description)


def barres_verticales(nom: str, description: str, barres: Sequence[Barre], *, pourcentages: bool = True,
                      titre_x: str | None = None) -> str:
    """One vertical bar per category (for ordered categories such as a number of difficulties)."""
    with _style(nom):
        largeur = max(0.75 + 0.9 * len(barres), _largeur([titre_x or ""]) + 0.8)
        fig = _figure(2.0 if len(barres) <= 5 else 2.4, largeur)
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
    """One horizontal bar chart of shares per group, the groups one below the other, each under its title, at
    full width and on one scale (the largest share of all groups) with one label column: read at the size of
    the other charts (side-by-side thumbnails were too small to read on paper)."""
    with _style(nom):
        titre_h, pas, ecart = 0.3, 0.27, 0.12
        hauteur = sum(titre_h + pas * len(barres) + ecart for _, barres in groupes)
        fig = _figure(hauteur)
        echelle = max((b.valeur or 0.0 for _, barres in groupes for b in barres), default=0.0) * 1.12 or 1.0
        gauche = _largeur([b.libelle for _, barres in groupes for b in barres]) + 0.15
        haut = 0.0
        for (titre, barres), couleur in zip(groupes, SERIES, strict=False):
            bloc = titre_h + pas * len(barres)
            ax = _axes(fig, gauche, 0.5, hauteur - haut - bloc, haut + titre_h)
            _barh(ax, barres, True, couleur)
            fig.text(0.1 / LARGEUR, 1 - (haut + 0.2) / hauteur, titre, ha="left", va="baseline",
                     fontsize=10, fontweight="bold", color=TEXTE)
            ax.set_xlim(0, echelle)
            ax.xaxis.set_visible(False)
            ax.spines["bottom"].set_visible(False)
            ax.grid(False)
            haut += bloc + ecart
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
                ax.text(1, pos, NON_REPRESENTE, va="center", ha="left", fontsize=8,
                        color="#666666", fontstyle="italic")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(series), fontsize=8.5,
                  handlelength=1.2, borderaxespad=0.2)
        return _svg(fig, nom, description)


def matrice(nom: str, description: str, lignes: Sequence[str], colonnes: Sequence[str],
            valeurs: Sequence[Sequence[float | None]], textes: Sequence[Sequence[str]],
            titre_lignes: str, titre_colonnes: str) -> str:
    """A table of cells (rows → columns) with the text of each cell; None cells are left blank (grey text).

    When rows and columns are the same ordered situations (the housing situation at entry → at exit), the
    diagonal (no change) is drawn in light grey and the colour scale is set by the other cells: above the
    diagonal (an improvement) in blue, below (a degradation) in orange, with a legend; otherwise one blue scale
    for all. Cells are vector rectangles (text and colours stay sharp in the PDF)."""
    import matplotlib
    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch, Rectangle

    carre = list(lignes) == list(colonnes)
    with _style(nom):
        fig = _figure(1.1 + 0.42 * len(lignes) + (0.3 if carre else 0.0))
        ax = _axes(fig, _largeur(lignes, 8.5) + 0.45, 0.1, 0.38 if carre else 0.08, 0.85)
        hors = [v for i, row in enumerate(valeurs) for j, v in enumerate(row)
                if v is not None and not (carre and i == j)]
        top = max(hors, default=0.0) or 1.0
        bleus, oranges = matplotlib.colormaps["Blues"], matplotlib.colormaps["Oranges"]
        for i, row in enumerate(valeurs):
            for j, v in enumerate(row):
                if v is None or v == 0:
                    couleur = "#ffffff"
                elif carre and i == j:
                    couleur = "#e6e8ea"
                else:
                    echelle = oranges if carre and j < i else bleus
                    couleur = to_hex(echelle(0.12 + 0.78 * min(v / top, 1.0)))
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=couleur, edgecolor="white", linewidth=1.5))
                ax.text(j, i, textes[i][j], ha="center", va="center", fontsize=8.5,
                        color="#ffffff" if _sombre(couleur) else (TEXTE if v is not None else "#666666"),
                        fontstyle="normal" if v is not None else "italic")
        ax.set_xlim(-0.5, len(colonnes) - 0.5)
        ax.set_ylim(len(lignes) - 0.5, -0.5)
        ax.set_xticks(range(len(colonnes)), [_wrap(c) for c in colonnes], fontsize=8)
        ax.set_yticks(range(len(lignes)), lignes, fontsize=8.5)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xlabel(titre_colonnes, labelpad=8)
        ax.set_ylabel(titre_lignes, labelpad=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        if carre:
            fig.legend(handles=[Patch(facecolor=to_hex(bleus(0.6)), label="situation améliorée"),
                                Patch(facecolor="#e6e8ea", label="situation inchangée"),
                                Patch(facecolor=to_hex(oranges(0.6)), label="situation dégradée")],
                       loc="lower left", bbox_to_anchor=(0.01, 0.0), ncols=3, fontsize=8.5, handlelength=1.2,
                       frameon=False)
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



# Years of a trend, oldest to newest: from light to the report's blue (the current year stands out).
ANNEES = ("#b8d0de", "#6f9fbd", BLEU)


def _shades(n: int) -> list[str]:
    return list(ANNEES[-n:]) if n <= len(ANNEES) else [SERIES[k % len(SERIES)] for k in range(n)]


def tendance(nom: str, description: str, annees: Sequence[str], series: Sequence[tuple[str, Sequence[Barre]]], *,
             pourcentages: bool = True) -> str:
    """A trend over the years: for each series (a category, a figure), one bar per year, oldest to newest,
    lighter to darker, each with its value printed.

    One series: vertical bars, one per year (the series' name is the chart's subject, not printed). Several:
    one row per series, its years as grouped horizontal bars, and a legend of the years above. A Barre whose
    value is None (hidden by the secret statistique, not computable) is not drawn: its text (« < 5 »,
    « n.s. ») is printed in italics in its place.
    """
    couleurs = _shades(len(annees))
    maximum = max((b.valeur or 0.0 for _, barres in series for b in barres), default=0.0)
    with _style(nom):
        if len(series) == 1:
            _, barres = series[0]
            fig = _figure(2.0, 0.75 + 1.0 * len(annees))
            ax = _axes(fig, 0.6, 0.1, 0.3, 0.1)
            positions = list(range(len(barres)))
            ax.bar(positions, [b.valeur or 0.0 for b in barres], width=0.6,
                   color=[couleurs[i % len(couleurs)] if b.valeur is not None else GRIS
                          for i, b in enumerate(barres)])
            ax.set_xticks(positions, list(annees))
            ax.tick_params(axis="x", length=0)
            if pourcentages:
                _pct_axis(ax, horizontal=False)
                span = 108.0
            else:
                _count_axis(ax, horizontal=False, maximum=maximum)
                span = max(maximum, 1.0) * 1.15
            for pos, b in zip(positions, barres, strict=True):
                ax.text(pos, (b.valeur or 0.0) + span * 0.015, b.etiquette, ha="center", va="bottom", fontsize=8.5,
                        color=TEXTE, fontstyle="normal" if b.valeur is not None else "italic")
            if all(b.valeur is None for b in barres):  # no bar: an empty 0–1 axis would say nothing
                from cvg_pipeline.report.secret_cells import NON_CALCULABLE

                ax.set_yticks([])
                if any(b.etiquette != NON_CALCULABLE for b in barres):  # (« non calculable » is on each bar)
                    ax.text(0.5, 0.5, NON_REPRESENTE, transform=ax.transAxes, ha="center", va="center",
                            fontsize=8.5, color="#444444", fontstyle="italic")
            return _svg(fig, nom, description)
        pas = 0.17 * len(annees) + 0.2  # inches per series: its bars and a gap
        fig = _figure(0.45 + pas * len(series))
        ax = _axes(fig, _largeur([label for label, _ in series]) + 0.15, 0.6, 0.06, 0.38)
        hauteur = 0.8 / max(len(annees), 1)
        for k, annee in enumerate(annees):
            ys = [i + (k - (len(annees) - 1) / 2) * hauteur for i in range(len(series))]
            de_l_annee = [valeurs[k] for _, valeurs in series]
            ax.barh(ys, [b.valeur or 0.0 for b in de_l_annee], height=hauteur * 0.92, color=couleurs[k], label=annee)
            span = 100.0 if pourcentages else max(maximum, 1.0)
            for y, b in zip(ys, de_l_annee, strict=True):
                ax.text((b.valeur or 0.0) + span * 0.01, y, b.etiquette, va="center", ha="left", fontsize=7.5,
                        color=TEXTE, fontstyle="normal" if b.valeur is not None else "italic")
        ax.set_yticks(range(len(series)), [label for label, _ in series])
        ax.invert_yaxis()
        ax.tick_params(axis="y", length=0)
        if pourcentages:
            _pct_axis(ax, horizontal=True)
        else:
            _count_axis(ax, horizontal=True, maximum=maximum)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.grid(False)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(annees), fontsize=8.5, handlelength=1.2,
                  borderaxespad=0.2)
        return _svg(fig, nom, description)


def _degrade(n: int) -> list[str]:
    """`n` colours from the most precarious situation (red) through grey to the most stable (the report's blue)."""
    from matplotlib.colors import LinearSegmentedColormap, to_hex

    cmap = LinearSegmentedColormap.from_list("logement", [ROUGE, "#e8a36a", "#d6dadd", "#7fb0cf", BLEU])
    return [to_hex(cmap(k / max(n - 1, 1))) for k in range(n)]


def _sombre(couleur: str) -> bool:
    """Whether white text reads better than dark text on `couleur` (relative luminance under 0.4)."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(couleur)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.4


def flux_logement(nom: str, description: str, categories: Sequence[str], entree: Sequence[Barre],
                  sortie: Sequence[Barre]) -> str:
    """Housing situation at entry and at exit: two 100 % stacked bars, one above the other, the categories in
    the order given (the most precarious first), joined by bands that show how each category's share moved;
    the legend gives each category's share at entry → at exit.

    The Barre values are shares in % of each bar's base; a bar whose shares are all drawn is scaled to 100 (the
    shares rounded to a whole percent may add up to 99 or 101). A value that is not drawn (None: hidden by the secret
    statistique) is pooled with the others of its bar into one hatched grey segment « masqué » at the bar's
    end: its width is 100 − the shares drawn, which the published total already gives, never a hidden share
    alone when two are hidden; the bands are then left out for that bar's hidden categories.
    """
    from matplotlib.patches import Patch, Polygon

    couleurs = _degrade(len(categories))
    with _style(nom):
        lignes = (("À l'entrée", entree), ("À la sortie", sortie))
        legende = [f"{c} : {a.etiquette} → {b.etiquette}" for c, a, b in zip(categories, entree, sortie, strict=True)]
        ncols = 2 if max((len(t) for t in legende), default=0) > 38 else 3
        rangs = -(-len(categories) // ncols)
        hauteur = 1.75 + 0.22 * rangs
        fig = _figure(hauteur)
        ax = _axes(fig, _largeur([label for label, _ in lignes]) + 0.15, 0.35, 0.25 + 0.22 * rangs, 0.08)
        y = {0: 0.0, 1: 1.0}
        epaisseur = 0.42
        bords: list[list[tuple[float, float] | None]] = []
        for i, (_, barres) in enumerate(lignes):
            x = 0.0
            row: list[tuple[float, float] | None] = []
            valeurs = [b.valeur for b in barres]
            total = sum(v for v in valeurs if v is not None)
            echelle = 100.0 / total if total > 0 and all(v is not None for v in valeurs) else 1.0
            for couleur, b, v in zip(couleurs, barres, valeurs, strict=True):
                if v is None:
                    row.append(None)
                    continue
                largeur = v * echelle
                ax.barh(y[i], largeur, left=x, height=epaisseur, color=couleur, edgecolor="white", linewidth=0.6)
                if largeur >= 7:
                    ax.text(x + largeur / 2, y[i], b.etiquette, ha="center", va="center", fontsize=8,
                            color="#ffffff" if _sombre(couleur) else TEXTE)
                row.append((x, x + largeur))
                x += largeur
            if any(v is None for v in valeurs):
                ax.barh(y[i], max(100.0 - x, 0.0), left=x, height=epaisseur, color="#eeeeee", hatch="///",
                        edgecolor="#9aa3ab", linewidth=0.0)
            if all(v is None for v in valeurs):  # nothing drawn: say why on the bar
                ax.text(50, y[i], NON_REPRESENTE, ha="center", va="center", fontsize=8.5,
                        color="#444444", fontstyle="italic",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 2})
            bords.append(row)
        for couleur, de, vers in zip(couleurs, bords[0], bords[1], strict=True):
            if de is None or vers is None or (de[1] - de[0] == 0 and vers[1] - vers[0] == 0):
                continue
            haut, bas = y[0] + epaisseur / 2, y[1] - epaisseur / 2
            ax.add_patch(Polygon([(de[0], haut), (de[1], haut), (vers[1], bas), (vers[0], bas)], closed=True,
                                 facecolor=couleur, alpha=0.28, linewidth=0))
        ax.set_yticks([y[0], y[1]], [label for label, _ in lignes])
        ax.set_ylim(1.35, -0.35)
        ax.tick_params(axis="y", length=0)
        _pct_axis(ax, horizontal=True)
        ax.set_xlim(0, 100)
        ax.grid(False)
        ax.spines["left"].set_visible(False)
        handles = [Patch(facecolor=c, label=t) for c, t in zip(couleurs, legende, strict=True)]
        if any(b.valeur is None for _, barres in lignes for b in barres):
            handles.append(Patch(facecolor="#eeeeee", edgecolor="#9aa3ab", hatch="///",
                                 label="masqué (secret statistique)"))
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncols=ncols, fontsize=8.5,
                   handlelength=1.2, columnspacing=1.2, frameon=False)
        return _svg(fig, nom, description)
