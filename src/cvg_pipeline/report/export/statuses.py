"""The `statut` of each row: the secret statistique of the report of the same (perimetre, programme, annee)
(see the package's docstring), read from the report's view model (`report_cells`) and mapped to the rows
(`REPORT_KEYS`, `statuses`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cvg_pipeline.report.export.table import MEAN_POPULATIONS, UNMASKED, Leaf, Row, _is_int
from cvg_pipeline.report.secret.model import FREE, PRIMARY, SECONDARY

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators
    from cvg_pipeline.report.build import Rapport
    from cvg_pipeline.schema.load import Schema

# JSON path prefix → the report's cell key prefix (report._Builder): the longest prefix wins, the rest of
# the path and the modality follow, dot-separated. A rate's row maps to its count's cell; its base is the
# cell the report divides by (read from the report's own rates).
REPORT_KEYS = {
    "effectifs.accompagnes": "eff.acc",
    "effectifs.entrees": "eff.ent",
    "effectifs.sorties": "eff.sor",
    "effectifs.file_active_fin": "eff.fin",
    "effectifs.file_active_debut": "eff.debut",
    "profil": "profil",
    "profil.difficultes_entree": "diff",
    "profil.nb_difficultes": "nbdiff",
    "profil.cumul_3_a_7_difficultes": "nbdiff.cumul",
    "accompagnement": "acc",
    "accompagnement.cp_emploi": "cp.emploi",
    "accompagnement.cp_sante": "cp.sante",
    "accompagnement.cp_logement": "cp.logement",
    "sorties.par_categorie": "sor.cat",
    "sorties.par_motif": "sor.motif",
    "sorties.taux_sorties_dynamiques": "sor.dyn",
    "sorties.taux_emploi_durable": "sor.cat.emploi_durable",
    "sorties.part_neutres": "sor.cat.sortie_neutre",
    "sorties.emploi_via_cp": "sor.viacp",
    "sorties.duree_parcours.plus_24_mois": "duree.plus24",
    "sorties.duree_parcours.tranches": "duree.tranches",
    "logement.matrice": "log.m",
    "logement.sortie": "log.sortie",
    "logement.ameliore": "log.ameliore",
    "logement.degrade": "log.degrade",
    "logement.acces_logement_perenne": "log.perenne",
    "logement.via_cp": "log.viacp",
    "sante": "sante",
    "resolution": "res",
    "post_sortie": "ps",
    "phc.accompagnes": "phc.acc",
    "phc.entrees": "phc.ent",
    "phc.sorties": "phc.sor",
    "phc.poursuite_cddi": "phc.poursuite",
}
# the base of a rate the report shows as a count elsewhere (not as a rate): JSON path → report cell key
RATE_BASES = {"sorties.part_neutres": "eff.sor"}
# figures the report does not publish → the report's cells they add up to (a prefix ends with ".")
EXTRA_LINKS: dict[str, tuple[str, ...]] = {}  # none since report v2: it publishes tranches, logement.sortie and
# post_sortie.*.non_renseigne (issue 15)


# rows that hold the same figure when both are exported (the phc block is exported under programme PHC)
SAME_FIGURES = (
    ("phc.accompagnes", "effectifs.accompagnes"),
    ("phc.entrees", "effectifs.entrees"),
    ("phc.sorties", "effectifs.sorties"),
    ("phc.duree_moyenne_mois", "sorties.duree_parcours.moyenne_mois"),
)


@dataclass
class ReportCells:
    """The counts a report publishes (key → status, value) and, for each rate it shows, its base's key."""

    status: dict[str, str] = field(default_factory=dict)
    value: dict[str, int] = field(default_factory=dict)
    base_of: dict[str, str] = field(default_factory=dict)


def report_cells(rapport: Rapport) -> ReportCells:
    """Walk the report's view model (tables and key figures) for its counts and its rates' bases."""
    from cvg_pipeline.report.build import Nombre, Part, Taux

    out = ReportCells()

    def add(cell: Any) -> None:
        if cell.exact:  # a count shown only as its share (the housing matrix's margins) is no figure of the JSON
            out.status[cell.key] = cell.status
            out.value[cell.key] = cell.value

    def visit(obj: object) -> None:
        if isinstance(obj, Nombre):
            add(obj.cell)
        elif isinstance(obj, Taux):
            visit(obj.part)
        elif isinstance(obj, Part):
            add(obj.n)
            add(obj.base)
            if obj.n.exact:
                out.base_of.setdefault(obj.n.key, obj.base.key)

    for table in rapport.t.values():
        for line in table.lignes:
            for item in line:
                visit(item)
        visit(table.champ)
    for carte in rapport.cartes:
        visit(carte.valeur)
    return out


def report_key(path: str, modalite: str) -> str | None:
    """The report's cell key for a count or a rate's count of the JSON (None: no rule)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in REPORT_KEYS:
            rest = [REPORT_KEYS[head], *parts[i:]]
            if path.startswith("resolution.") and parts[-1] == "resolue_ou_en_cours":
                rest[-1] = "ok"
            return ".".join([*rest, modalite] if modalite else rest)
    return None


def _worst(*statuses: str) -> str:
    return PRIMARY if PRIMARY in statuses else SECONDARY if SECONDARY in statuses else FREE


def statuses(found: Sequence[Leaf], cells: ReportCells | None, seuil: int, masque: bool) -> list[Row]:
    """The rows of one (perimetre, programme, annee) with their statuses (`cells`: the report's; None when
    the secret is off)."""
    values = {(leaf.path, leaf.modalite): leaf.value for leaf in found}
    out: list[Row] = []

    def primary(n: int) -> str:
        return PRIMARY if 0 < n < seuil else FREE

    def count_status(leaf: Leaf) -> str:
        if cells is None or leaf.path.startswith(UNMASKED) or not _is_int(leaf.value):
            return FREE
        key = report_key(leaf.path, leaf.modalite)
        if key is not None and key in cells.status:
            return cells.status[key]
        return primary(int(leaf.value or 0))

    for leaf in found:
        if leaf.kind == "mean":
            pop = values.get((MEAN_POPULATIONS.get(leaf.path, ""), ""))
            status = FREE if cells is None else (
                PRIMARY if pop is None and leaf.value is not None else primary(int(pop or 0)))
            out.append(Row("", "", 0, "", leaf.path, leaf.modalite, leaf.value, None, status, "mean"))
            continue
        status = count_status(leaf)
        base_status = FREE
        if leaf.kind == "rate" and cells is not None:
            key = report_key(leaf.path, "")
            base_key = cells.base_of.get(key or "") or RATE_BASES.get(leaf.path) or f"{key}.base"
            base = int(leaf.base or 0)
            base_status = cells.status.get(base_key, primary(base))
            if base_status == FREE and 0 < base < seuil:  # a share on fewer people than the seuil
                status = _worst(status, PRIMARY)
            status = _worst(status, base_status)
        shown_base = leaf.base if (base_status == FREE or not masque) else None
        out.append(Row("", "", 0, "", leaf.path, leaf.modalite, leaf.value, shown_base, status, leaf.kind))
    if cells is not None:
        _protect_extras(out, cells)
        _same_figures(out)
    if masque:
        for row in out:
            if row.statut != FREE:
                row.valeur = None
    return out


def _same_figures(rows: list[Row]) -> None:
    """Two rows holding the same figure (`SAME_FIGURES`: the phc block under programme PHC is the
    effectifs block) take the stricter status of the two: the report declares them as two cells and may
    hide one and show the other."""
    by_path = {r.indicateur: r for r in rows if not r.modalite}
    for a, b in SAME_FIGURES:
        ra, rb = by_path.get(a), by_path.get(b)
        if ra is not None and rb is not None and ra.valeur == rb.valeur:
            ra.statut = rb.statut = _worst(ra.statut, rb.statut)


def _protect_extras(rows: list[Row], cells: ReportCells) -> None:
    """A figure the report does not publish: all its non-zero counts hidden as soon as one of them is, or
    one of the report's counts it adds up to (`EXTRA_LINKS`)."""
    for path, links in EXTRA_LINKS.items():
        group = [r for r in rows if r.indicateur == path]
        linked = [k for k, s in cells.status.items() if s != FREE and any(
            k == link or (link.endswith(".") and k.startswith(link)) for link in links)]
        if any(r.statut != FREE for r in group) or linked:
            for r in group:
                if r.statut == FREE and isinstance(r.valeur, int) and r.valeur > 0:
                    r.statut = SECONDARY


def secret_cells(ind: Indicators, schema: Schema, seuil: int) -> ReportCells:
    """The counts of the report of `ind` with their statuses (its view model, without the final audit)."""
    from cvg_pipeline.report.build import build_report

    return report_cells(build_report(ind, schema, seuil=seuil, charts=False, audit=False))
