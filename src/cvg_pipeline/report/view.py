"""The view model of the report: Rapport → Partie → Section → Bloc (Graphique, Tableaux), Carte. Optional fields
(with defaults) may be added; the templates (md, html, typ) read these."""

from __future__ import annotations

from dataclasses import dataclass, field

from cvg_pipeline.report.secret_cells import (
    CelluleMasquee,
)


# -- the view model --------------------------------------------------------------------------------------
@dataclass
class Tableau:
    titre: str
    champ: object  # "Population : … Base : …" (text, or an `Affiche` holding a count)
    entetes: list[str]
    lignes: list[list[object]]  # text, or an `Affiche` (a count or a share, printed once the secret is applied)
    notes: list[object] = field(default_factory=list)
    colonnes_texte: int = 1  # leading text columns; the others are numbers (right-aligned)
    indicateurs: list[str] = field(default_factory=list)  # the catalogue paths of the figures it shows


@dataclass
class Graphique:
    svg: str  # inline SVG (trusted: produced by matplotlib from our own labels, text escaped by it)
    legende: str  # figcaption

    @property
    def taille(self) -> tuple[float, float]:
        """The chart's width and height in points, as its SVG states them (0 when it states none): the HTML
        template lays out the printed pages from them."""
        import re

        def attribute(name: str) -> float:
            found = re.search(rf'\b{name}="([0-9.]+)pt"', self.svg)
            return float(found[1]) if found else 0.0

        return attribute("width"), attribute("height")


@dataclass
class Carte:
    valeur: object  # text or `Affiche`
    texte: str
    detail: object = ""
    national: object = ""  # a territoire report: the same figure nationally (« national 49 % »), else ""


@dataclass
class Bloc:
    graphique: Graphique | None
    tableaux: list[Tableau]


@dataclass
class Section:
    titre: str
    blocs: list[Bloc]


@dataclass
class Partie:
    id: str
    titre: str
    sections: list[Section]
    cartes: list[Carte] = field(default_factory=list)  # the key figures of a part (the PHC part's), else []


@dataclass
class Rapport:
    titre: str
    programme: str
    annee: int
    donnees_au: str
    secret: str
    avertissements: list[str]
    cartes: list[Carte]
    parties: list[Partie]
    t: dict[str, Tableau]
    g: dict[str, Graphique]
    notes: dict[str, str]
    dynamiques: str  # « emploi durable, emploi de transition et sortie positive » (schemas/: dynamique = true)
    masquees: list[CelluleMasquee] = field(default_factory=list)  # the audit of the secret (`cvg report --audit`)
    ligne_date: str = ""  # « Année 2023 — fichiers arrêtés entre le 31/12/2023 et le 29/02/2024 »


