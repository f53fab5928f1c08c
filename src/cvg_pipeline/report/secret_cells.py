"""The numbers of the report as the secret statistique lets them be read (indicators.md §5): `Secret`
(the rules), `Nombre` / `Part` / `Taux` (a count, a share, a rate whose text is read once `protect` has set the
cells' statuses), the audit of the hidden cells (`cvg report --audit`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cvg_pipeline import fr
from cvg_pipeline.report.secret.model import (
    PRIMARY,
    SECONDARY,
    Cell,
)

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Rate
    from cvg_pipeline.report.view import Rapport

SEUIL_DEFAUT = 5
NON_RENSEIGNE = "non_renseigne"
NS = "n.s."
SECRET_SECONDAIRE = "s"  # a count hidden by the secondary secret (status D)
NON_CALCULABLE = "non calculable"


def pourcentage(n: int, base: int) -> str:
    """``49 %``; a share of a non-zero count that rounds to 0 is ``< 1 %`` (7 people of 3 448 are not
    « 0 % », indicators.md §5.2). `base` > 0."""
    if n > 0 and fr.pourcentage_valeur(n, base) == 0:
        return f"<{fr.NBSP}1{fr.NBSP}%"
    return fr.pourcentage(n, base)


# -- the secret statistique ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    """indicators.md §5: counts 1 … seuil − 1 → ``< seuil``; shares whose base < seuil → ``n.s.``; shares
    whose count is masked → ``n.s.`` too (a share and its base would give the count back)."""

    seuil: int = SEUIL_DEFAUT

    def __post_init__(self) -> None:
        if self.seuil < 0:
            raise ValueError("le seuil du secret statistique doit être positif ou nul")

    def masque(self, n: int) -> bool:
        """A count that must not be shown (1 … seuil − 1)."""
        return 0 < n < self.seuil

    def effectif(self, n: int) -> str:
        return f"<{fr.NBSP}{self.seuil}" if self.masque(n) else fr.entier(n)

    def base_affichable(self, base: int) -> bool:
        """A base a share may be computed on: not 0, and not below the seuil."""
        return base > 0 and base >= self.seuil

    def part_affichable(self, n: int, base: int) -> bool:
        """A share that may be shown: its base may, and its count is not masked."""
        return self.base_affichable(base) and not self.masque(n)

    def part(self, n: int, base: int) -> str:
        """``49 %``, ``n.s.`` (base below the seuil, or count masked) or ``non calculable`` (base 0)."""
        if base <= 0:
            return NON_CALCULABLE
        if not self.part_affichable(n, base):
            return NS
        return pourcentage(n, base)

    def taux(self, n: int, base: int) -> str:
        """``49 % (467 / 961)``; ``n.s. (< 5 / 11)`` when the count is masked; ``n.s.`` alone when the base
        is below the seuil; ``non calculable`` for a base of 0."""
        if base <= 0:
            return NON_CALCULABLE
        if not self.base_affichable(base):
            return NS
        return f"{self.part(n, base)} ({self.effectif(n)} / {self.effectif(base)})"

    def rate(self, rate: Rate) -> str:
        return self.taux(rate["n"], rate["base"])

    def moyenne(self, value: float | None, population: int, unite: str = "") -> str:
        """A mean over `population` people: ``n.s.`` below the seuil (a mean of 1 … 4 people is personal)."""
        if value is None or population <= 0:
            return NON_CALCULABLE
        if population < self.seuil:
            return NS
        return fr.decimal(value, 1) + (f"{fr.NBSP}{unite}" if unite else "")

    def mention(self) -> str:
        if self.seuil == 0:
            return "Secret statistique : désactivé pour ce rapport (seuil 0), tous les effectifs sont affichés."
        if self.seuil == 1:
            return "Secret statistique : seuil 1, aucun effectif n'est masqué ; une part sur une base nulle est « non calculable »."
        return (
            f"Secret statistique (seuil {self.seuil}) : un effectif compris entre 1 et {self.seuil - 1} est affiché "
            f"« <{fr.NBSP}{self.seuil} » (secret primaire) ; un effectif affiché « {SECRET_SECONDAIRE} » est masqué au "
            "titre du secret secondaire : avec les totaux publiés, il permettrait de retrouver un effectif masqué "
            f"(un effectif « {SECRET_SECONDAIRE} » n'est jamais nul ; il peut être inférieur à {self.seuil} quand "
            f"« <{fr.NBSP}{self.seuil} » suffirait à le retrouver). Une part est affichée "
            f"« {NS} » (non significatif) quand elle est calculée sur moins de {self.seuil} personnes ou que son "
            "effectif est lui-même masqué (ou sa base) ; les graphiques ne représentent pas ces valeurs. Les "
            "nombres d'ACI (organisations nommées en annexe) ne sont pas masqués."
        )



@dataclass(frozen=True)
class CelluleMasquee:
    """One hidden count of the report and what an adversary can reach of it from everything published."""

    cle: str  # the cell's key in the secret model (``sor.motif.deces``)
    libelle: str  # where the reader sees it (« Sorties par motif · Décès »)
    statut: str  # A (primary secret, « < 5 », or « s » when « < 5 » would give it away) or D (secondary, « s »)
    affiche: str  # what the report prints
    minimum: int
    maximum: int | None  # None: no upper bound
    largeur_requise: int

    @property
    def protegee(self) -> bool:
        return (self.maximum is None) or self.maximum - self.minimum >= self.largeur_requise



# -- what the report shows of a count or a share, read once the secret statistique has chosen -------------
class Affiche:
    """A number of the report whose text depends on the statuses the secret statistique gives (F, A, D): it
    is declared while the tables are built and printed after `protect` has run. Compares as its text."""

    def texte(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.texte()

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))

    def __bool__(self) -> bool:
        return bool(str(self))


class Nombre(Affiche):
    """A count: the number, « < seuil » (primary secret) or « s » (secondary secret)."""

    def __init__(self, cell: Cell, seuil: int) -> None:
        self.cell, self.seuil = cell, seuil

    @property
    def key(self) -> str:
        return self.cell.key

    def texte(self) -> str:
        if not self.cell.exact and self.cell.hidden:  # a count published only as a share: « n.s. »
            return NS
        if self.cell.status == PRIMARY and not self.cell.vague:
            return f"<{fr.NBSP}{self.seuil}"
        if self.cell.hidden:
            return SECRET_SECONDAIRE
        return fr.entier(self.cell.value)


class Part(Affiche):
    """A share n / base: ``49 %``; ``n.s.`` when the base is under the seuil or either count is hidden;
    ``non calculable`` for a base of 0."""

    def __init__(self, n: Cell, base: Cell, seuil: int) -> None:
        self.n, self.base, self.seuil = n, base, seuil

    def visible(self) -> bool:
        return self.base.value > 0 and self.base.value >= self.seuil and not self.n.hidden and not self.base.hidden

    def valeur(self) -> float | None:
        """The share in % a chart may draw, or None."""
        return 100.0 * self.n.value / self.base.value if self.visible() else None

    def texte(self) -> str:
        if self.base.value <= 0:
            return NON_CALCULABLE
        return pourcentage(self.n.value, self.base.value) if self.visible() else NS


class Taux(Affiche):
    """``49 % (467 / 961)``; ``n.s. (< 5 / 961)``, ``n.s. (s / 961)``; ``n.s.`` alone when the base is under
    the seuil; ``non calculable`` for a base of 0."""

    def __init__(self, n: Cell, base: Cell, seuil: int, nr: Part | None = None) -> None:
        self.part = Part(n, base, seuil)
        self.n, self.base = Nombre(n, seuil), Nombre(base, seuil)
        self.nr = nr  # the share of « non renseigné » when it exceeds 10 % of the population (§5.2)

    def texte(self) -> str:
        if self.part.base.value <= 0:
            return NON_CALCULABLE
        if self.part.base.status == PRIMARY and not self.part.base.vague:
            return NS
        flag = f" — {self.nr} non renseigné" if self.nr is not None and self.nr.visible() else ""
        return f"{self.part} ({self.n} / {self.base}){flag}"


def _secondaire(shown: object) -> bool:
    """A count of a table cell hidden by the secondary secret (alone or in a rate « n.s. (s / 961) »)."""
    if isinstance(shown, Nombre):
        return shown.cell.status == SECONDARY or shown.cell.vague
    if isinstance(shown, Taux):
        return _secondaire(shown.n) or _secondaire(shown.base)
    return False


def _champ(population: str, base: object = None) -> str:
    return f"Population : {population}." + (f" Base : {base}." if base else "")


class _Texte(Affiche):
    """Text made of numbers of the report (a table's « Base : 61 salarié·es », a note), printed late."""

    def __init__(self, make: Callable[[], str]) -> None:
        self.make = make

    def texte(self) -> str:
        return self.make()


def _champ_de(population: str, base: object) -> _Texte:
    """« Population : … Base : … » whose base holds a count."""
    return _Texte(lambda: _champ(population, str(base)))



# -- the audit of the secret (`cvg report --audit`) ------------------------------------------------------
def _borne(value: int | None) -> str:
    return "+∞" if value is None else fr.entier(value)


def audit_text(ind: Indicators, rapport: Rapport, seuil: int) -> str:
    """One line per hidden count: status, the interval a reader can reach, where it is shown."""
    cells = rapport.masquees
    primaires = sum(c.statut == PRIMARY for c in cells)
    lines = [f"{rapport.titre} — secret statistique (seuil {seuil}) : {fr.pluriel(len(cells), 'effectif masqué', 'effectifs masqués')} "
             f"({primaires} A secret primaire « <{fr.NBSP}{seuil} », {len(cells) - primaires} D secret secondaire "
             f"« {SECRET_SECONDAIRE} »)."]
    if cells:
        lines.append("Statut, affichage, intervalle qu'un lecteur peut déduire de tout ce que le rapport publie, "
                     "largeur exigée, effectif :")
    for c in cells:
        verdict = "" if c.protegee else " — EXPOSÉ"
        lines.append(f"  {c.statut}  {c.affiche:>4}  [{_borne(c.minimum)} ; {_borne(c.maximum)}]  (≥ {c.largeur_requise})"
                     f"{verdict}  {c.libelle}")
    exposes = [c for c in cells if not c.protegee]
    lines.append("Tous les effectifs masqués sont protégés." if not exposes else
                 f"{len(exposes)} effectif(s) masqué(s) insuffisamment protégé(s).")
    return "\n".join(lines)


def audit_json(ind: Indicators, rapport: Rapport, seuil: int) -> str:
    import json

    return json.dumps({
        "perimetre": ind["perimetre"], "annee": ind["annee"], "seuil": seuil,
        "cellules": [{"cle": c.cle, "libelle": c.libelle, "statut": c.statut, "affiche": c.affiche,
                      "min": c.minimum, "max": c.maximum,
                      "largeur_requise": c.largeur_requise, "protegee": c.protegee} for c in rapport.masquees],
    }, ensure_ascii=False, indent=2)


