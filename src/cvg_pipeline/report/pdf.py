"""The yearly report as an A4 PDF, typeset by Typst (the `typst` wheel bundles the compiler).

render_pdf(rapport, perimetre) → the PDF's bytes

The PDF is a third rendering of the view model `report.build_report` returns, beside the Markdown and HTML
templates: every number is the text the secret statistique left (`str()` of the table cells), never
recomputed. The view model is written as JSON into a temporary folder with the template
(``templates/report.typ`` of the package) and one SVG file per chart (the matplotlib charts of the HTML,
embedded as vectors); the template reads the JSON with ``json(...)``, so no user text is ever parsed as
Typst markup.

Fonts: the text is set in Libertinus Serif, bundled in the typst wheel; the charts' text names DejaVu Sans,
read from matplotlib's own font folder. System fonts are ignored, so the PDF is the same on every machine and
needs no system package. Typst embeds (subsets of) the fonts it uses.

typst is imported here, and this module only when a PDF is asked for (`cvg --help` stays instant).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvg_pipeline.report.build import Graphique, Rapport, Tableau

TEMPLATE = "report.typ"
DATA = "rapport.json"
# Tables longer than this may break across pages (their header repeated); shorter ones stay whole.
LIGNES_INSECABLES = 12


def _text(value: object) -> str:
    return "" if value is None else str(value)


def largeurs(entetes: list[str], lignes: list[list[str]], colonnes_texte: int) -> list[int]:
    """Each column's width for the template: 0 is « auto » (as wide as its content), n > 0 a share « n fr » of
    the width left. Text columns with a long cell or header share the width in proportion to it (their text
    wraps); a table with none gives the first column the rest, so that every table spans the text width."""
    out = []
    for i, entete in enumerate(entetes):
        longest = max([len(row[i]) for row in lignes if i < len(row)] + [len(entete)])
        out.append(min(longest, 60) if i < colonnes_texte and longest > 24 else 0)
    if not any(out):
        out[0] = 1
    return out


def _tableau(t: Tableau) -> dict[str, Any]:
    entetes = [_text(h) for h in t.entetes]
    lignes = [[_text(c) for c in row] for row in t.lignes]
    return {
        "titre": t.titre,
        "champ": _text(t.champ),
        "entetes": entetes,
        "lignes": lignes,
        "largeurs": largeurs(entetes, lignes, t.colonnes_texte),
        "notes": [_text(n) for n in t.notes],
        "colonnes_texte": t.colonnes_texte,
        "secable": len(t.lignes) > LIGNES_INSECABLES,
    }


def _figure(g: Graphique | None, charts: list[str]) -> dict[str, str] | None:
    """The chart's entry; its SVG is written later under the name given here."""
    if g is None:
        return None
    name = f"figure-{len(charts) + 1}.svg"
    charts.append(g.svg)
    return {"fichier": name, "legende": g.legende}


def donnees(rapport: Rapport, perimetre: str) -> tuple[dict[str, Any], list[str]]:
    """The view model as plain JSON data for the template, and the charts' SVG texts (figure-1.svg …)."""
    charts: list[str] = []
    parties = [
        {
            "id": p.id,
            "titre": p.titre,
            "sections": [
                {
                    "titre": s.titre,
                    "blocs": [{"figure": _figure(b.graphique, charts), "tableaux": [_tableau(t) for t in b.tableaux]}
                              for b in s.blocs],
                }
                for s in p.sections
            ],
        }
        for p in rapport.parties
    ]
    data = {
        "titre": rapport.titre,
        "perimetre": perimetre[0].upper() + perimetre[1:],
        "programme": rapport.programme[0].upper() + rapport.programme[1:],
        "annee": str(rapport.annee),
        "donnees_au": rapport.donnees_au,
        "secret": rapport.secret,
        "avertissements": list(rapport.avertissements),
        "cartes": [{"valeur": _text(c.valeur), "texte": c.texte, "detail": _text(c.detail)} for c in rapport.cartes],
        "parties": parties,
        "sources": [
            f"Données au {rapport.donnees_au} : date d'arrêté la plus récente parmi les fichiers utilisés. "
            "Accompagné·es : en parcours au moins un jour de l'année ; entré·es / sorti·es : date d'entrée / de "
            f"sortie dans l'année ; sorties dynamiques : {rapport.dynamiques}, rapportés aux sorties hors sorties "
            "neutres.",
            *rapport.notes.values(),
            rapport.secret,
        ],
        "pied": "Rapport produit par cvg-pipeline à partir des fichiers de reporting des ACI ; aucune donnée "
                "personnelle n'y figure.",
    }
    return data, charts


def font_folders() -> list[str]:
    """matplotlib's bundled fonts (DejaVu Sans, the charts' font); Libertinus Serif comes with typst."""
    import matplotlib

    return [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]


def render_pdf(rapport: Rapport, perimetre: str, *, horodatage: datetime | None = None) -> bytes:
    """The report typeset as PDF bytes. `horodatage` is the PDF's creation date (now by default).

    A Typst error (a defect of the template, never of the data: they are read as JSON) is raised as a
    French CvgError."""
    import typst

    from cvg_pipeline.check.errors import CvgError
    from cvg_pipeline.files import private_umask

    data, charts = donnees(rapport, perimetre)
    template = resources.files("cvg_pipeline").joinpath("templates", TEMPLATE).read_bytes()
    # The typesetting folder (0700, its files 0600) is removed when done, also on an interruption.
    with private_umask(), tempfile.TemporaryDirectory(prefix="cvg-rapport-pdf-") as tmp:
        root = Path(tmp)
        (root / TEMPLATE).write_bytes(template)
        (root / DATA).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        for i, svg in enumerate(charts, start=1):
            (root / f"figure-{i}.svg").write_text(svg, encoding="utf-8")
        try:
            pdf = typst.compile(
                str(root / TEMPLATE),
                root=str(root),
                font_paths=font_folders(),
                ignore_system_fonts=True,
                sys_inputs={"donnees": DATA},
                timestamp=(horodatage or datetime.now(UTC)).replace(microsecond=0),
            )
        except typst.TypstError as exc:
            raise CvgError(f"la mise en page du rapport PDF a échoué ({exc.message}) : signalez-le.") from None
    return pdf
