"""The tidy table: its columns, its `Row`, and the figures (`Leaf`) of an indicators object (`walk`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Programme

PROGRAMMES: tuple[Programme, ...] = ("CVG", "PHC", "tous")
COLUMNS = ("perimetre", "territoire", "annee", "programme", "indicateur", "modalite", "valeur", "base", "statut")
# keys of the indicators object that are not rows (the row's keys, the sources) or repeat other rows
SKIPPED_BLOCKS = ("perimetre", "annee", "donnees_au", "snapshots", "par_territoire", "evolution")
PHC_BLOCK = "phc"

# the population a mean is computed on (indicators.md §4), by JSON path
MEAN_POPULATIONS = {
    "sorties.duree_parcours.moyenne_mois": "effectifs.sorties",
    "sorties.duree_parcours.mediane_mois": "effectifs.sorties",
    "phc.heures_entree_moyenne": "phc.accompagnes",
    "phc.heures_sortie_moyenne": "phc.sorties",
    "phc.duree_moyenne_mois": "phc.sorties",
}
# counts of ACI: public organisations, named in the reports' annex, never masked (as in the report)
UNMASKED = ("effectifs.nb_aci", "effectifs.nb_aci_par_support", "phc.nb_aci")


@dataclass
class Row:
    perimetre: str
    territoire: str
    annee: int
    programme: str
    indicateur: str
    modalite: str
    valeur: int | float | None
    base: int | None
    statut: str
    kind: str = field(default="count", compare=False)  # count | rate | mean (not exported)

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)


# -- walking the indicators JSON -------------------------------------------------------------------------
@dataclass(frozen=True)
class Leaf:
    path: str
    modalite: str
    kind: str  # count | rate | mean
    value: int | float | None
    base: int | None = None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def walk(node: Mapping[str, Any], prefix: str = "") -> Iterator[Leaf]:
    """Every figure of an indicators (sub)object, in the JSON's order."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        if _is_int(value):
            yield Leaf(path, "", "count", value)
        elif value is None or isinstance(value, float):
            yield Leaf(path, "", "mean", value)
        elif isinstance(value, Mapping):
            if set(value) >= {"n", "base"} and _is_int(value["n"]) and _is_int(value["base"]):
                yield Leaf(path, "", "rate", value["n"], value["base"])
            elif value and all(_is_int(v) for v in value.values()):
                for modalite, n in value.items():
                    yield Leaf(path, str(modalite), "count", n)
            else:
                yield from walk(value, f"{path}.")
        else:
            raise TypeError(f"indicateur {path} : valeur inattendue {value!r}")


def leaves(ind: Indicators, programme: str) -> list[Leaf]:
    out: list[Leaf] = []
    for block, value in ind.items():
        if block in SKIPPED_BLOCKS or (block == PHC_BLOCK and programme != "PHC"):
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"indicateur {block} : bloc inattendu")
        out.extend(walk(value, f"{block}."))
    return out
