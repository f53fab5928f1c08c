"""`cvg export`: the indicators as open data — one tidy long table for dashboards and data.gouv.fr.

One row per (perimetre, territoire, annee, programme, indicateur, modalite) with `valeur`, `base` and `statut`:

- `indicateur` is the JSON path of the `cvg indicators` object (indicators.md §4), e.g.
  ``sorties.taux_sorties_dynamiques``; `modalite` is the category's slug for a distribution or a yes/no
  breakdown (``femme``, ``oui``, ``non_renseigne``), empty otherwise. The rows come from walking that JSON
  generically (`walk`): an int is a count; ``{"n", "base"}`` a rate (valeur = n, base = base); an object
  whose values are all ints a distribution (one row per modality); a number with decimals a mean (its
  population from `MEAN_POPULATIONS`); any other object is walked into. `perimetre`, `annee`, `donnees_au`
  and `snapshots` are the row's keys or the sources, not rows; `par_territoire` and `evolution` repeat
  figures that have rows of their own (the territoire's perimeter, the other years: the same numbers), and
  the `phc` block (computed on PHC parcours whatever the programme) is exported under programme PHC only.
- `statut` is the secret statistique of the published reports (issue 16), the same figures with the same
  statuses: for each (perimetre, programme, annee) the report's view model is built (`report.build_report`,
  which declares every count it shows and protects them: primary secret A, secondary secret D, audited by
  linear programming) and its cells are mapped to the rows (`REPORT_KEYS`). A hidden count has an empty
  `valeur`; a rate whose count is hidden, whose base is hidden or under the seuil has an empty `valeur`
  (its base is shown when it is free). Figures the report does not publish (`sorties.duree_parcours.tranches`,
  `logement.sortie`, `post_sortie.*.non_renseigne`) get the primary secret, and every non-zero count of
  such a figure is hidden as soon as one of them is, or one of the report's counts it adds up to
  (`EXTRA_LINKS`): a table published beside the report never gives back a cell the report hides. Means:
  hidden (A) when computed on 1 … seuil − 1 people, as in the report. Two rows holding the same figure
  (`SAME_FIGURES`: under programme PHC, the phc block's counts are the effectifs') take the stricter of
  their statuses: the report declares them as two cells and may show one while it hides the other.
- `--non-masque` writes every value, with the statuses the published table would have (the file names and
  the metadata say so): the analyst's working data, not for publication.

Files: ``indicateurs.csv`` (UTF-8, comma, RFC 4180), ``indicateurs.parquet`` and ``datapackage.json``
(Frictionless Data Package v2) by default; ``indicateurs.xlsx`` (a filterable table and a « Lisez-moi »
sheet) with `--format xlsx`. Never written over an existing file unless asked (`files.write_new_file`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.report.secret.model import FREE, PRIMARY, SECONDARY

if TYPE_CHECKING:

    from cvg_pipeline.indicators.compute import Indicators, Programme, Scope
    from cvg_pipeline.report.build import Rapport
    from cvg_pipeline.schema.load import Schema

FORMATS = ("csv", "parquet", "xlsx")
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


# -- the secret statistique of the report ----------------------------------------------------------------
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


# -- the cube --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Perimetre:
    niveau: str  # national | territoire
    territoire: str  # slug, "" for national

    def scope(self) -> Scope:
        from cvg_pipeline.indicators.compute import Scope

        return Scope.of_territoire(self.territoire) if self.territoire else Scope.national()


@dataclass
class Export:
    rows: list[Row]
    perimetres: list[Perimetre]
    programmes: list[str]
    annees: dict[str, list[int]]  # perimeter (national or slug) → its years
    donnees_au: str | None
    seuil: int
    masque: bool
    files: list[Path] = field(default_factory=list)


def build_export(
    store: Path,
    schema: Schema,
    *,
    seuil: int = 5,
    masque: bool = True,
    territoires: Sequence[str] | None = None,
    national: bool = True,
    programmes: Sequence[Programme] = PROGRAMMES,
    annees: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    wait: float | None = None,
    worker: bool = True,
) -> Export:
    """Every row of the export: perimeters × programmes × years, with the report's secret statistique.

    The indicators of all perimeters come from one query per (year, programme)
    (`indicators.compute_indicators_many`); the reports' secret — nearly all the time — is shared with one
    worker process on the other core (`worker=False`: all here). `wait`: how long a busy store is waited for (`--attente`)."""
    from cvg_pipeline.indicators.compute import (
        _check_not_empty,
        compute_indicators_many,
        covered_years,
        select_snapshots,
    )
    from cvg_pipeline.store.db import open_store

    slugs = [t.slug for t in schema.territoires] if territoires is None else list(territoires)
    perimetres = ([Perimetre("national", "")] if national else []) + [Perimetre("territoire", s) for s in slugs]
    helper: _Worker | None = None
    try:
        computed: list[tuple[Perimetre, int, str, Indicators]] = []
        years: dict[str, list[int]] = {}
        donnees_au: list[str] = []
        with open_store(store, read_only=True, wait=wait) as con:
            _check_not_empty(con, store)
            from cvg_pipeline.store.extract import check_scope, extract_territoire_of

            own = extract_territoire_of(con)
            if own is not None and territoires is None:  # an extract: its territoire only, by default
                perimetres = [Perimetre("territoire", own)]
            snapshots = select_snapshots(con, schema, None)
            for p in perimetres:
                check_scope(con, p.niveau, p.territoire or None)
                covered = covered_years(con, [s for s in snapshots if not p.territoire or s.territoire == p.territoire])
                span = range(covered[0], covered[1] + 1) if covered else range(0)
                years[p.territoire or "national"] = [y for y in span if annees is None or y in annees]
            if worker and seuil > 0 and sum(map(len, years.values())) * len(programmes) >= WORKER_MIN_REPORTS:
                helper = _Worker.start(schema.path, seuil)  # it starts while the indicators are computed
            found: dict[tuple[str, int, str], Indicators] = {}
            for y in sorted({y for wanted in years.values() for y in wanted}):
                for prog in programmes:
                    want = [p for p in perimetres if y in years[p.territoire or "national"]]
                    inds = compute_indicators_many(con, schema, scopes=[p.scope() for p in want], annee=y,
                                                   programme=prog, snapshots=snapshots)
                    for p, ind in zip(want, inds, strict=True):
                        found[(p.territoire, y, prog)] = ind
            for p in perimetres:
                for y in years[p.territoire or "national"]:
                    for prog in programmes:
                        ind = found[(p.territoire, y, prog)]
                        computed.append((p, y, prog, ind))
                        if ind["donnees_au"]:
                            donnees_au.append(ind["donnees_au"])
        cells: list[ReportCells | None] = [None] * len(computed)
        if seuil > 0:
            cells = list(_all_report_cells([ind for *_, ind in computed], schema, seuil, helper, progress))
    finally:
        if helper is not None:
            helper.close()
    rows: list[Row] = []
    for (per, year, prog_name, ind), report in zip(computed, cells, strict=True):
        for row in statuses(leaves(ind, prog_name), report, seuil, masque):
            row.perimetre, row.territoire, row.annee, row.programme = per.niveau, per.territoire, year, prog_name
            rows.append(row)
    if seuil <= 0 and progress is not None:
        progress(len(computed), len(computed))
    return Export(rows, perimetres, list(programmes), years, max(donnees_au) if donnees_au else None, seuil, masque)


# -- the reports' secret, on both cores --------------------------------------------------------------------
WORKER_MIN_REPORTS = 12  # fewer reports take less than starting a worker (~0.5 s)
def secret_cells(ind: Indicators, schema: Schema, seuil: int) -> ReportCells:
    """The counts of the report of `ind` with their statuses (its view model, without the final audit)."""
    from cvg_pipeline.report.build import build_report

    return report_cells(build_report(ind, schema, seuil=seuil, charts=False, audit=False))


def _all_report_cells(inds: Sequence[Indicators], schema: Schema, seuil: int, helper: _Worker | None,
                      progress: Callable[[int, int], None] | None) -> list[ReportCells]:
    """`secret_cells` of every report: this process and the worker take the next report in turn from a
    shared counter; what the worker took and did not send back (it died) is done here. The reports with the
    most counts under the seuil (the longest secret) are taken first, so that neither process is left alone
    with a long one at the end."""
    small = [sum(1 for leaf in leaves(ind, ind["perimetre"]["programme"])
                 if leaf.kind == "count" and isinstance(leaf.value, int) and 0 < leaf.value < seuil) for ind in inds]
    order = sorted(range(len(inds)), key=lambda k: -small[k])
    done_in_order = _report_cells_in_turn([inds[k] for k in order], schema, seuil, helper, progress)
    out: list[ReportCells | None] = [None] * len(inds)
    for j, k in enumerate(order):
        out[k] = done_in_order[j]
    return [cells for cells in out if cells is not None]


def _report_cells_in_turn(inds: Sequence[Indicators], schema: Schema, seuil: int, helper: _Worker | None,
                          progress: Callable[[int, int], None] | None) -> list[ReportCells]:
    total = len(inds)
    done: dict[int, ReportCells] = {}

    def tell() -> None:
        if progress is not None:
            progress(len(done), total)

    if helper is not None:
        helper.send(list(inds))
        claim = helper.claim
    else:
        numbers = iter(range(total))

        def claim(total: int) -> int | None:
            return next(numbers, None)

    while (k := claim(total)) is not None:
        done[k] = secret_cells(inds[k], schema, seuil)
        if helper is not None:
            done.update(helper.returned())
        tell()
    if helper is not None:
        for k, cells in helper.finish():
            done[k] = cells
            tell()
    for k in range(total):
        if k not in done:  # taken by a worker that ended before sending it back
            done[k] = secret_cells(inds[k], schema, seuil)
            tell()
    return [done[k] for k in range(total)]


def _claim(counter: Any, taken: Any, total: int) -> int | None:
    """The next report number from the counter shared with the worker (`taken`: how many the worker took,
    counted under the same lock; None for this process)."""
    with counter.get_lock():
        k = int(counter.value)
        if k >= total:
            return None
        counter.value = k + 1
        if taken is not None:
            taken.value += 1
        return k


class _Worker:
    """One process beside this one computing reports' secret (`secret_cells`). Forked from a fork server
    that imports the report and HiGHS while this process computes the indicators; a thread here starts it,
    sends it the indicators (`send`), then receives its results. Both processes take report numbers from a
    shared counter; the worker counts those it took under the same lock, so once every number is taken this
    process knows how many results to wait for. If the worker dies, its pipe ends and the reports it took
    are done here. Ctrl-C is this process's: the worker ignores SIGINT and is ended by `close`."""

    def __init__(self, schema_path: Path, seuil: int) -> None:
        import multiprocessing
        import threading
        from multiprocessing import forkserver

        from cvg_pipeline.files import private_mp_tempdir

        private_mp_tempdir()  # its socket in `cvg-mp-<pid>-…`, removed at exit or by the next run
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cvg_pipeline.report.export", "cvg_pipeline.report.build", "cvg_pipeline.report.secret.suppress",
                                    "highspy", "numpy"])
        forkserver.ensure_running()
        self.counter: Any = ctx.Value("i", 0)
        self.taken: Any = ctx.Value("i", 0, lock=False)  # under the counter's lock
        self.reader, writer = ctx.Pipe(duplex=False)
        tasks, self.to_worker = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_main, args=(tasks, writer, self.counter, self.taken, schema_path,
                                                              seuil, os.getpid()), daemon=True)
        self.inds: list[Indicators] | None = None
        self.received: list[tuple[int, ReportCells]] = []
        self.count = 0  # results received
        self.ended = False
        self.started = threading.Event()  # set once the worker's start has returned (or failed)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(tasks, writer), daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, schema_path: Path, seuil: int) -> _Worker | None:
        """A worker, or None if none can be started here (then this process does every report)."""
        if (os.cpu_count() or 1) < 2:
            return None
        try:
            return cls(schema_path, seuil)
        except (OSError, ValueError, RuntimeError):
            return None

    def _run(self, tasks: Any, writer: Any) -> None:
        try:
            try:
                self.process.start()  # waits for the fork server's imports: in this thread
            finally:
                writer.close()  # the worker holds its own copies: the pipes end when it does
                tasks.close()
                self.started.set()
            with self.cond:
                while self.inds is None:
                    self.cond.wait()
                inds = self.inds
            self.to_worker.send(inds)
            while True:
                message = self.reader.recv()
                with self.cond:
                    self.received.append(message)
                    self.count += 1
                    self.cond.notify_all()
        except Exception:  # EOF (the worker is done or dead), or it could not be started
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def send(self, inds: list[Indicators]) -> None:
        with self.cond:
            self.inds = inds
            self.cond.notify_all()

    def claim(self, total: int) -> int | None:
        return _claim(self.counter, None, total)

    def returned(self) -> list[tuple[int, ReportCells]]:
        with self.cond:
            got, self.received = self.received, []
        return got

    def finish(self) -> Iterator[tuple[int, ReportCells]]:
        """Once every report is taken: the worker's results, until it has sent all it took or ended."""
        while True:
            yield from self.returned()
            with self.counter.get_lock():
                taken = int(self.taken.value)
            with self.cond:
                if (self.count >= taken or self.ended) and not self.received:
                    return
                if not self.received:
                    self.cond.wait(timeout=0.5)

    def close(self) -> None:
        """End the worker if it is still there. Waits for a start under way (bounded): a worker left to start
        after this process is gone would fail with a traceback on the command's stderr."""
        self.started.wait(timeout=10)
        if self.process.pid is not None and self.process.is_alive():
            self.process.kill()
        with self.cond:
            if self.inds is None:  # the thread still waits for the indicators: let it go
                self.inds = []
                self.cond.notify_all()
            ended = self.ended
        if ended:
            self.reader.close()
            self.to_worker.close()


def _worker_main(tasks: Any, results: Any, counter: Any, taken: Any, schema_path: Path, seuil: int,
                 parent: int) -> None:
    """The worker process (see `_Worker`); any failure ends it quietly (the command does those reports)."""
    import signal

    from cvg_pipeline.ingest.parallel import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's: it ends this worker
    exit_with_parent(parent)
    try:
        from cvg_pipeline.schema.load import load_schema

        inds = tasks.recv()
        schema = load_schema(schema_path)
        while (k := _claim(counter, taken, len(inds))) is not None:
            results.send((k, secret_cells(inds[k], schema, seuil)))
    except Exception:
        return
    finally:
        results.close()


# -- files -----------------------------------------------------------------------------------------------
def file_names(formats: Sequence[str], masque: bool) -> dict[str, str]:
    suffix = "" if masque else "-non-masque"
    names = {fmt: f"indicateurs{suffix}.{fmt}" for fmt in formats}
    if "csv" in formats or "parquet" in formats:
        names["datapackage"] = f"datapackage{suffix}.json"
    return names


def parse_formats(raw: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in raw.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(f"format inconnu pour --format : « {', '.join(unknown) or raw} » (valeurs : {', '.join(FORMATS)}).")
    return wanted


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_bytes(rows: Sequence[Row]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: comma, CRLF, quotes only when needed
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row.values()])
    return buffer.getvalue().encode("utf-8")


def frame(rows: Sequence[Row]) -> Any:
    import polars as pl

    return pl.DataFrame(
        {
            "perimetre": [r.perimetre for r in rows],
            "territoire": [r.territoire or None for r in rows],
            "annee": [r.annee for r in rows],
            "programme": [r.programme for r in rows],
            "indicateur": [r.indicateur for r in rows],
            "modalite": [r.modalite or None for r in rows],
            "valeur": [None if r.valeur is None else float(r.valeur) for r in rows],
            "base": [r.base for r in rows],
            "statut": [r.statut for r in rows],
        },
        schema={"perimetre": pl.String, "territoire": pl.String, "annee": pl.Int32, "programme": pl.String,
                "indicateur": pl.String, "modalite": pl.String, "valeur": pl.Float64, "base": pl.Int64,
                "statut": pl.String},
    )


def parquet_bytes(rows: Sequence[Row]) -> bytes:
    buffer = io.BytesIO()
    frame(rows).write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


STATUTS = {
    FREE: "F : valeur diffusable (libre).",
    PRIMARY: "A : secret primaire — effectif de 1 à seuil − 1, ou taux calculé sur moins de « seuil » personnes "
             "ou dont l'effectif ou la base est ainsi masqué : la valeur n'est pas diffusée.",
    SECONDARY: "D : secret secondaire — valeur masquée parce qu'avec les totaux publiés elle permettrait de "
               "retrouver un effectif sous le seuil : la valeur n'est pas diffusée.",
}


def field_descriptions(seuil: int, masque: bool) -> list[dict[str, Any]]:
    valeur = ("Valeur : un effectif (nombre de salarié·es), pour un taux son numérateur (la part vaut "
              "valeur / base), pour une moyenne ou une médiane sa valeur (mois, heures). ")
    valeur += ("Vide quand elle est masquée (statut A ou D) ou non calculable (moyenne sans aucune valeur, statut F)."
               if masque else "Jamais masquée dans ce fichier NON MASQUÉ (le statut dit ce que la version diffusée masque).")
    return [
        {"name": "perimetre", "type": "string", "description": "Périmètre : « national » (tous les territoires) ou « territoire ».",
         "constraints": {"required": True, "enum": ["national", "territoire"]}},
        {"name": "territoire", "type": "string", "description": "Code du territoire (vide pour le périmètre national)."},
        {"name": "annee", "type": "integer", "description": "Année civile des indicateurs.",
         "constraints": {"required": True}},
        {"name": "programme", "type": "string", "description": "Programme : CVG, PHC ou « tous » (les deux réunis).",
         "constraints": {"required": True, "enum": list(PROGRAMMES)}},
        {"name": "indicateur", "type": "string",
         "description": "Chemin de l'indicateur dans le JSON de « cvg indicators » (ex. sorties.taux_sorties_dynamiques) ; "
                        "définitions : spécification des indicateurs du programme.",
         "constraints": {"required": True}},
        {"name": "modalite", "type": "string",
         "description": "Modalité d'une répartition ou d'une réponse oui / non (code, ex. femme, oui, non_renseigne) ; "
                        "vide pour un effectif, un taux ou une moyenne."},
        {"name": "valeur", "type": "number", "description": valeur},
        {"name": "base", "type": "integer",
         "description": "Pour un taux : son dénominateur (effectif de la population de référence) ; vide sinon, "
                        "ou quand la base elle-même est masquée."},
        {"name": "statut", "type": "string",
         "description": f"Statut de confidentialité (codes SDMX, secret statistique au seuil {seuil}) : "
                        + " ".join(STATUTS.values()),
         "constraints": {"required": True, "enum": list(STATUTS)}},
    ]


def datapackage(export: Export, names: Mapping[str, str]) -> dict[str, Any]:
    masque = export.masque
    title = "Indicateurs annuels des programmes CVG et PHC (ACI)" + ("" if masque else " — NON MASQUÉS, ne pas diffuser")
    description = (
        "Indicateurs du rapport annuel des ateliers et chantiers d'insertion (programmes CVG et PHC), pour le "
        "périmètre national et chaque territoire, chaque programme et chaque année couverte par les fichiers "
        "de reporting : une ligne par (périmètre, territoire, année, programme, indicateur, modalité). "
    )
    description += (
        f"Le secret statistique des rapports publiés y est appliqué (seuil {export.seuil}) : les valeurs masquées "
        "sont vides, avec leur statut (A secret primaire, D secret secondaire)."
        if masque and export.seuil > 0 else
        "FICHIER NON MASQUÉ : toutes les valeurs y figurent, y compris celles que le secret statistique masque "
        "dans les publications (leur statut le dit). Données de travail de l'analyste : à ne pas diffuser."
        if not masque else "Secret statistique désactivé (seuil 0) : à ne pas diffuser."
    )
    schema = {
        "fields": field_descriptions(export.seuil, masque),
        "missingValues": [""],
    }
    resources: list[dict[str, Any]] = []
    if "csv" in names:
        resources.append({
            "name": "indicateurs" + ("" if masque else "-non-masque"), "type": "table", "path": names["csv"],
            "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "dialect": {"delimiter": ",", "quoteChar": "\"", "header": True},
            "title": "Indicateurs (CSV)", "schema": schema,
        })
    if "parquet" in names:
        resources.append({
            # the same table; described as a file (frictionless reads Parquet through pandas, whose missing
            # integers become NaN and fail the integer type): its columns are the CSV's
            "name": "indicateurs-parquet" + ("" if masque else "-non-masque"), "type": "file", "path": names["parquet"],
            "scheme": "file", "format": "parquet", "mediatype": "application/vnd.apache.parquet",
            "title": "Indicateurs (Parquet)",
            "description": "La même table que le CSV, au format Parquet (mêmes colonnes ; valeur en nombre décimal).",
        })
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "cvg-indicateurs" + ("" if masque else "-non-masques"),
        "title": title,
        "description": description,
        "version": "1.0.0",
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "licenses": [{"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
                      "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}],
        "sources": [{"title": "Fichiers de reporting mensuels des ACI (programmes CVG et PHC), intégrés par cvg-pipeline"
                              + (f", arrêtés au plus tard le {export.donnees_au}" if export.donnees_au else "")}],
        "keywords": ["insertion", "ACI", "CVG", "PHC", "indicateurs"],
        "cvg:statuts": STATUTS,
        "cvg:secret": {"seuil": export.seuil, "masque": masque},
        "cvg:annees": export.annees,
        "resources": resources,
    }


def xlsx_bytes(export: Export) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Indicateurs"
    ws.append(list(COLUMNS))
    for row in export.rows:
        ws.append([None if v == "" else v for v in row.values()])
    ref = f"A1:I{len(export.rows) + 1}"
    table = Table(displayName="Indicateurs", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (11, 18, 7, 10, 48, 26, 11, 9, 7), strict=True):
        ws.column_dimensions[column].width = width
    readme = wb.create_sheet("Lisez-moi", 0)
    readme.column_dimensions["A"].width = 16
    readme.column_dimensions["B"].width = 110
    pack = datapackage(export, {})
    readme.append([pack["title"]])
    readme["A1"].font = Font(bold=True, size=14)
    readme.append([])
    readme.append(["Contenu", pack["description"]])
    readme.append(["Source", pack["sources"][0]["title"]])
    readme.append(["Licence", "Licence Ouverte / Open Licence version 2.0 (Etalab)" if export.masque
                   else "Aucune : fichier non masqué, à ne pas diffuser"])
    readme.append(["Filtrer", "Feuille « Indicateurs » : un tableau filtrable (flèches des en-têtes)."])
    readme.append([])
    readme.append(["Colonne", "Description"])
    for f in field_descriptions(export.seuil, export.masque):
        readme.append([f["name"], f["description"]])
    readme.append([])
    readme.append(["Statut", "Signification"])
    for code, text in STATUTS.items():
        readme.append([code, text])
    for r in readme.iter_rows(min_col=2, max_col=2):
        for c in r:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_export(export: Export, out_dir: Path, formats: Sequence[str], *, ecraser: bool) -> list[Path]:
    """Write the files (0600, never over an existing file unless `ecraser`); nothing written if one exists."""
    from cvg_pipeline.files import FileExists, private_umask, write_new_file
    from cvg_pipeline.fr import erreur_systeme
    from cvg_pipeline.report.build import bytes_writer

    names = file_names(formats, export.masque)
    check_destination(out_dir, names, ecraser=ecraser)
    paths = {k: out_dir / v for k, v in names.items()}
    makers: dict[str, Callable[[], bytes]] = {
        "csv": lambda: csv_bytes(export.rows),
        "parquet": lambda: parquet_bytes(export.rows),
        "xlsx": lambda: xlsx_bytes(export),
        "datapackage": lambda: (json.dumps(datapackage(export, names), ensure_ascii=False, indent=2) + "\n").encode(),
    }
    written: list[Path] = []
    with private_umask():
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for kind, path in paths.items():
                write_new_file(path, bytes_writer(makers[kind]()), overwrite=ecraser)
                written.append(path)
        except FileExists as exc:
            raise CvgError(_exists_message([exc.path]) + _partial(written)) from None
        except OSError as exc:
            raise CvgError(f"l'export n'a pas pu être écrit dans « {out_dir} » ({erreur_systeme(exc)})."
                           + _partial(written)) from exc
    export.files = written
    return written


def check_destination(out_dir: Path, names: Mapping[str, str], *, ecraser: bool) -> None:
    """CvgError unless `out_dir` is a folder (or absent) where none of `names` exists (or `ecraser`)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CvgError(f"« {out_dir} » n'est pas un dossier : donnez un dossier avec --sortie ; rien n'a été écrit.")
    taken = [out_dir / n for n in names.values() if (out_dir / n).exists() or (out_dir / n).is_symlink()]
    if taken and not ecraser:
        raise CvgError(_exists_message(taken))


def _partial(written: Sequence[Path]) -> str:
    return f" Déjà écrits : {', '.join(str(p) for p in written)}." if written else " Rien n'a été écrit."


def _exists_message(paths: Sequence[Path]) -> str:
    names = ", ".join(f"« {p} »" for p in paths)
    verbe = "existe" if len(paths) == 1 else "existent"
    return f"{names} {verbe} déjà : aucun fichier n'a été écrit. Ajoutez --ecraser pour les remplacer, ou choisissez un autre dossier avec --sortie."


def summary(export: Export) -> dict[str, Any]:
    """What `cvg export --json` prints."""
    counts = {s: sum(r.statut == s for r in export.rows) for s in STATUTS}
    return {
        "fichiers": [str(p) for p in export.files],
        "lignes": len(export.rows),
        "masque": export.masque,
        "seuil": export.seuil,
        "perimetres": [p.territoire or "national" for p in export.perimetres],
        "programmes": export.programmes,
        "annees": export.annees,
        "statuts": counts,
        "donnees_au": export.donnees_au,
        "genere_le": date.today().isoformat(),
    }
