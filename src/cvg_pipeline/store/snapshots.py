"""The snapshot writer: stores accepted files (one DuckDB writer), and `decide`, the pure step that says
what becomes of each file (spec §5), testable without a store.

- Bytes already stored (same sha256) → `déjà intégré`, nothing written.
- Two files of a run with the same SIRET and Date d'arrêté and different bytes → both refused
  (`arrete-en-double`): the order of their names never decides.
- Same SIRET and Date d'arrêté as a stored snapshot → that snapshot and its parcours are replaced
  (`remplacé`); an earlier Date d'arrêté than the ACI's latest → kept as history (`historique`), the ACI's
  name, territoire and supports untouched; otherwise `intégré`.
- `ingest_log` gets one row per file written (codes and counts only, never a cell value).

All the files of a run are written in one transaction (file by file if that fails); nothing is retried
after an interrupt or a failure to write the store (store/failures.py).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import Issue
from cvg_pipeline.store.failures import StoreFailed, watch_interrupts, write_failure

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from cvg_pipeline.read.model import ParsedFile
    from cvg_pipeline.schema.load import Schema

# What becomes of a file (French, stable: these are statuses of the JSON result and of `ingest_log`).
INTEGRE = "intégré"
REMPLACE = "remplacé"
HISTORIQUE = "historique"
DEJA_INTEGRE = "déjà intégré"
ARRETE_EN_DOUBLE = "arrete-en-double"  # refused (its error code): another file of the run has its month

AciRow = tuple[str, str, list[str]]  # nom, territoire, supports


@dataclass(frozen=True)
class Incoming:
    """What `decide` needs to know of an accepted file."""

    sha256: str
    siret: str
    date_arrete: date
    nom: str
    territoire: str
    supports: tuple[str, ...] = ()

    @classmethod
    def of(cls, pf: ParsedFile) -> Incoming:
        s = pf.structure
        assert s is not None and pf.sha256 is not None
        assert s.siret is not None and s.date_arrete is not None and s.nom is not None and s.territoire is not None
        return cls(pf.sha256, s.siret, s.date_arrete, s.nom, s.territoire, tuple(s.supports))


@dataclass(frozen=True)
class Stored:
    """What the store holds that the decisions depend on."""

    hashes: frozenset[str] = frozenset()  # the sha256 of every stored file
    snapshots: Mapping[str, Mapping[date, int]] = field(default_factory=dict)  # SIRET → Date d'arrêté → id
    aci: Mapping[str, AciRow] = field(default_factory=dict)  # SIRET → its latest name, territoire, supports


@dataclass(frozen=True)
class Decision:
    statut: str  # INTEGRE, REMPLACE, HISTORIQUE, DEJA_INTEGRE or ARRETE_EN_DOUBLE
    snapshot_id: int | None = None  # a file stored: its new snapshot
    replaces: int | None = None  # REMPLACE: the snapshot it replaces
    previous: tuple[int, date] | None = None  # the ACI's snapshot just before (for `fichier-non-cumulatif`)
    doubles: tuple[int, ...] = ()  # ARRETE_EN_DOUBLE: the other files (positions) of the same month

    @property
    def stored(self) -> bool:
        return self.snapshot_id is not None


@dataclass
class Plan:
    """The decisions, one per file in order, and the store's state once they are written."""

    decisions: list[Decision]
    snapshots: dict[str, dict[date, int]]  # the ACIs touched: Date d'arrêté → snapshot id, afterwards
    aci: dict[str, AciRow]  # every ACI, afterwards
    aci_new: dict[str, AciRow]  # rows to insert into `aci`
    aci_changed: dict[str, AciRow]  # rows to update

    @property
    def replaced(self) -> list[int]:
        return [d.replaces for d in self.decisions if d.replaces is not None]


def decide(files: Sequence[Incoming], stored: Stored, new_ids: Sequence[int] | None = None) -> Plan:
    """What becomes of each file (in the order given: several months of one ACI oldest first), against what
    is `stored`, with no I/O. `new_ids[k]`: the snapshot id file k gets if it is stored (default: after the
    largest stored id)."""
    if new_ids is None:
        top = max((i for dates in stored.snapshots.values() for i in dates.values()), default=0)
        new_ids = range(top + 1, top + 1 + len(files))
    decisions: list[Decision | None] = [None] * len(files)
    months: dict[tuple[str, date], list[int]] = {}
    for k, f in enumerate(files):
        if f.sha256 in stored.hashes:
            decisions[k] = Decision(DEJA_INTEGRE)
        else:
            months.setdefault((f.siret, f.date_arrete), []).append(k)
    for ks in months.values():
        if len(ks) > 1:
            for k in ks:
                decisions[k] = Decision(ARRETE_EN_DOUBLE, doubles=tuple(j for j in ks if j != k))
    state: dict[str, dict[date, int]] = {}
    aci = dict(stored.aci)
    aci_new: dict[str, AciRow] = {}
    aci_changed: dict[str, AciRow] = {}
    for k, f in enumerate(files):
        if decisions[k] is not None:
            continue
        siret, arrete = f.siret, f.date_arrete
        dates = state.setdefault(siret, dict(stored.snapshots.get(siret, {})))
        old_id = dates.pop(arrete, None)
        if old_id is not None:
            statut = REMPLACE
        elif dates and max(dates) > arrete:
            statut = HISTORIQUE
        else:
            statut = INTEGRE
        earlier = [d for d in dates if d < arrete]
        previous = (dates[max(earlier)], max(earlier)) if earlier else None
        dates[arrete] = new_ids[k]
        decisions[k] = Decision(statut, new_ids[k], old_id, previous)
        row = (f.nom, f.territoire, list(f.supports))
        if statut != HISTORIQUE and aci.get(siret) != row:
            (aci_changed if siret in stored.aci else aci_new)[siret] = row
            aci[siret] = row
    return Plan([d for d in decisions if d is not None], state, aci, aci_new, aci_changed)


def _codes(issues: Iterable[Issue]) -> str:
    """Codes and counts only (never a message nor a value), as JSON: kept in the store."""
    return json.dumps(dict(sorted(Counter(i.code for i in issues).items())), ensure_ascii=False)


class ArrowStream:
    """A polars frame seen by DuckDB through the Arrow C stream interface only (zero copy). Registered as it
    is, a polars frame is converted by `to_arrow()`, which imports pyarrow: ~0.2 s of every ingest."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


class SnapshotWriter:
    """Stores accepted files with one DuckDB connection (the only writer): all the files of a run in one
    transaction, or one transaction per file (the fallback), both by `_store_batch`.

    What the decisions need (the stored snapshots' SIRET and Date d'arrêté, the `aci` rows) is read once and
    kept up to date here, so that each file costs only the statements that change the store.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: Schema) -> None:
        from cvg_pipeline.store.db import parcours_columns
        from cvg_pipeline.store.pseudonyms import hmac_key

        self.con = con
        self.schema = schema
        self.key = hmac_key(con)
        self.columns = [name for name, _ in parcours_columns(schema)]
        self.snapshots: dict[str, dict[date, int]] = {}
        for snapshot_id, siret, arrete in con.execute(
            "SELECT snapshot_id, siret, date_arrete FROM snapshots"
        ).fetchall():
            self.snapshots.setdefault(siret, {})[arrete] = int(snapshot_id)
        self.aci: dict[str, tuple[str, str, list[str]]] = {
            siret: (nom, territoire, list(supports))
            for siret, nom, territoire, supports in con.execute(
                "SELECT siret, nom, territoire, supports FROM aci"
            ).fetchall()
        }
        self.stored: list[tuple[ParsedFile, str]] = []  # the files committed by this writer, with their status
        self.unknown = False  # a failed transaction whose outcome the store could not tell

    def store_all(
        self, files: Sequence[ParsedFile], progress: Callable[[str, int, int], None] = _no_progress
    ) -> list[tuple[ParsedFile, str]]:
        """Store accepted files (oldest Date d'arrêté first within an ACI) in ONE transaction.

        A DuckDB commit costs 15-30 ms (56 columns), more than reading a file: the files of one run are
        stored together. They are all validated already (a rejected file is never in the batch), and the
        transaction is all or nothing, so each snapshot is still wholly old or wholly new, even if the
        process is killed. If the batch fails, or holds the same SIRET and Date d'arrêté twice, the files
        are stored one transaction each (a batch of one file).

        Never retried: an interrupt (Ctrl-C) nor a failure to write the store (full disk…), which would only
        commit some files before failing the same way, or commit files twice. An interrupt raises
        KeyboardInterrupt, a write failure StoreFailed, once `stored` lists what the store holds.
        """
        if not files:
            return []
        pairs = {(pf.structure.siret, pf.structure.date_arrete) for pf in files if pf.structure is not None}
        with watch_interrupts() as seen:
            if len(files) > 1 and len(pairs) == len(files):
                try:
                    results = self._store_batch(files, seen)
                except (KeyboardInterrupt, StoreFailed):
                    raise
                except Exception:  # the batch was rolled back: file by file below
                    pass
                else:
                    progress("enregistrement", len(files), len(files))
                    return results
            out: list[tuple[ParsedFile, str]] = []
            for n, pf in enumerate(files, 1):
                try:
                    out.extend(self._store_batch([pf], seen))
                except (KeyboardInterrupt, StoreFailed):
                    raise
                except Exception as exc:  # the files before are stored: say which, never a bare traceback
                    raise StoreFailed(
                        f"erreur inattendue de la base ({type(exc).__name__}) en enregistrant « {pf.fichier} »"
                    ) from exc
                progress("enregistrement", n, len(files))
            return out

    def _store_batch(
        self, files: Sequence[ParsedFile], seen: list[bool] | None = None
    ) -> list[tuple[ParsedFile, str]]:
        """Store files in one transaction and add their results to `stored`; see `_write_batch`.

        An interrupt (KeyboardInterrupt, or DuckDB's « Query interrupted » once SIGINT was `seen`) is raised as
        KeyboardInterrupt, a failure to write the store as StoreFailed; other errors as they are."""
        try:
            return self._write_batch(files, seen)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if seen and seen[0]:
                raise KeyboardInterrupt from exc
            cause = write_failure(exc)
            if cause is not None:
                raise StoreFailed(cause) from exc
            raise

    def _write_batch(
        self, files: Sequence[ParsedFile], seen: list[bool] | None
    ) -> list[tuple[ParsedFile, str]]:
        """Store files in one transaction, with a handful of bulk statements (Arrow); return their results.
        The cached state follows the committed transaction only.

        If anything fails, the transaction is rolled back (if DuckDB has not ended it: a COMMIT that fails
        does) and the store is asked whether it was committed all the same (an interrupt during or just after
        the COMMIT): if so, the files count as stored, and only an interrupt is raised again."""
        con = self.con
        n = len(files)
        snapshot_ids = [int(r[0]) for r in con.execute("SELECT nextval('snapshot_seq') FROM range(?)", [n]).fetchall()]
        log_ids = [int(r[0]) for r in con.execute("SELECT nextval('ingest_log_seq') FROM range(?)", [n]).fetchall()]
        # Decisions, file by file, on the cached state (the batch may hold several months of an ACI).
        plan = decide([Incoming.of(pf) for pf in files], Stored(snapshots=self.snapshots, aci=self.aci), snapshot_ids)
        assert all(d.stored for d in plan.decisions)  # duplicates and known bytes never reach the writer
        views, warnings = self._tables(files, plan, snapshot_ids, log_ids)
        failure = self._commit(views, plan, snapshot_ids)
        # The cached state follows the committed transaction only.
        for siret, dates in plan.snapshots.items():
            self.snapshots[siret] = dates
        self.aci = plan.aci
        results = []
        for pf, w, decision in zip(files, warnings, plan.decisions, strict=True):
            pf.issues.extend(w)
            results.append((pf, decision.statut))
        self.stored.extend(results)
        if failure is not None and (isinstance(failure, KeyboardInterrupt) or (seen and seen[0])):
            raise KeyboardInterrupt from failure
        return results

    def _tables(
        self, files: Sequence[ParsedFile], plan: Plan, snapshot_ids: Sequence[int], log_ids: Sequence[int]
    ) -> tuple[dict[str, pl.DataFrame], list[list[Issue]]]:
        """The rows the transaction inserts, one frame per table (registered as the views `_commit` reads),
        and each file's `fichier-non-cumulatif` warnings (recorded with its other warnings)."""
        import polars as pl

        from cvg_pipeline.ingest.suivi import present_columns
        from cvg_pipeline.store.cumulative import non_cumulative_warnings

        n = len(files)
        now = datetime.now().replace(microsecond=0)
        rows = self._rows(files, snapshot_ids)
        offsets = [0]
        for pf in files:
            offsets.append(offsets[-1] + pf.data.height)  # type: ignore[union-attr]
        frames = [rows.slice(offsets[k], offsets[k + 1] - offsets[k]) for k in range(n)]
        warnings = non_cumulative_warnings(
            self.con, files, [d.previous for d in plan.decisions], frames,
            {sid: k for k, sid in enumerate(snapshot_ids)},
        )
        all_warnings = [[i for i in pf.issues if not i.is_error] + w for pf, w in zip(files, warnings, strict=True)]
        snaps = pl.DataFrame(
            {
                "snapshot_id": snapshot_ids,
                "siret": [pf.structure.siret for pf in files],  # type: ignore[union-attr]
                "date_arrete": [pf.structure.date_arrete for pf in files],  # type: ignore[union-attr]
                "sha256": [pf.sha256 for pf in files],
                "fichier": [pf.fichier for pf in files],
                "ingere_le": [now] * n,
                "nb_lignes": [pf.data.height for pf in files],  # type: ignore[union-attr]
                "avertissements": [_codes(w) for w in all_warnings],
                "nom": [pf.structure.nom for pf in files],  # type: ignore[union-attr]
                "territoire": [pf.structure.territoire for pf in files],  # type: ignore[union-attr]
                "supports": [list(pf.structure.supports) for pf in files],  # type: ignore[union-attr]
            },
            schema_overrides={"snapshot_id": pl.Int32, "nb_lignes": pl.Int32, "supports": pl.List(pl.String)},
        )
        log = pl.DataFrame(
            {
                "log_id": log_ids,
                "ingere_le": [now] * n,
                "fichier": snaps.get_column("fichier"),
                "sha256": snaps.get_column("sha256"),
                "siret": snaps.get_column("siret"),
                "date_arrete": snaps.get_column("date_arrete"),
                "statut": [d.statut for d in plan.decisions],
                "nb_erreurs": [0] * n,
                "nb_avertissements": [len(w) for w in all_warnings],
                "codes": snaps.get_column("avertissements"),
            },
            schema_overrides={"log_id": pl.Int32, "nb_erreurs": pl.Int32, "nb_avertissements": pl.Int32},
        )

        def aci_frame(entries: dict[str, AciRow]) -> pl.DataFrame:
            return pl.DataFrame(
                {
                    "siret": list(entries),
                    "nom": [v[0] for v in entries.values()],
                    "territoire": [v[1] for v in entries.values()],
                    "supports": [v[2] for v in entries.values()],
                },
                schema={"siret": pl.String, "nom": pl.String, "territoire": pl.String, "supports": pl.List(pl.String)},
            )

        headers = pl.DataFrame(
            {"snapshot_id": snapshot_ids, "colonnes": [present_columns(pf) for pf in files]},
            schema={"snapshot_id": pl.Int32, "colonnes": pl.List(pl.String)},
        )
        views = {
            "cvg_b_headers": headers,
            "cvg_b_parcours": rows,
            "cvg_b_snapshots": snaps,
            "cvg_b_log": log,
            "cvg_b_aci_new": aci_frame(plan.aci_new),
            "cvg_b_aci_changed": aci_frame(plan.aci_changed),
        }
        return views, warnings

    def _commit(self, views: dict[str, pl.DataFrame], plan: Plan, snapshot_ids: Sequence[int]) -> BaseException | None:
        """The transaction: the replaced snapshots deleted, the `views` inserted, `aci` updated. Returns the
        failure raised after the COMMIT had gone through (None if none); raises any other."""
        con = self.con
        replaced = plan.replaced
        for name, frame in views.items():
            con.register(name, ArrowStream(frame))
        failure: BaseException | None = None  # raised after the COMMIT had gone through
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                if replaced:
                    con.execute("DELETE FROM parcours WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                    con.execute("DELETE FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                    con.execute("DELETE FROM colonnes_fichier WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                snapshot_columns = ", ".join(views["cvg_b_snapshots"].columns)
                con.execute(f"INSERT INTO snapshots ({snapshot_columns}) SELECT * FROM cvg_b_snapshots")
                columns = ", ".join(self.columns)
                con.execute(f"INSERT INTO parcours ({columns}) SELECT {columns} FROM cvg_b_parcours")
                if plan.aci_new:
                    con.execute("INSERT INTO aci (siret, nom, territoire, supports) SELECT * FROM cvg_b_aci_new")
                if plan.aci_changed:
                    con.execute(
                        "UPDATE aci SET nom = c.nom, territoire = c.territoire, supports = c.supports "
                        "FROM cvg_b_aci_changed c WHERE aci.siret = c.siret"
                    )
                log_columns = ", ".join(views["cvg_b_log"].columns)
                con.execute(f"INSERT INTO ingest_log ({log_columns}) SELECT * FROM cvg_b_log")
                con.execute("INSERT INTO colonnes_fichier (snapshot_id, colonnes) SELECT * FROM cvg_b_headers")
                con.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(Exception):  # « no transaction is active » after a failed COMMIT
                    con.execute("ROLLBACK")
                committed = self._holds(snapshot_ids)
                if not committed:
                    self.unknown = committed is None
                    raise
                failure = exc
        finally:
            for name in views:
                with contextlib.suppress(Exception):  # never masks the failure being raised
                    con.unregister(name)
        return failure

    def _holds(self, snapshot_ids: Sequence[int]) -> bool | None:
        """Whether the store holds these snapshots as committed (a new cursor sees committed data only), or
        None if it cannot say (the database failed for good)."""
        try:
            cur = self.con.cursor()
            try:
                row = cur.execute(
                    "SELECT count(*) FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id)", [list(snapshot_ids)]
                ).fetchone()
            finally:
                cur.close()
        except Exception:
            return None
        return row is not None and row[0] == len(snapshot_ids) > 0

    def _rows(self, files: Sequence[ParsedFile], snapshot_ids: Sequence[int]) -> pl.DataFrame:
        """The parcours rows of all the files as stored, in one frame (one chunk: DuckDB scans it ~5× faster
        than 700 small ones): `snapshot_id`, `siret`, `id_salarie` pseudonymised, every column of the table."""
        import polars as pl

        from cvg_pipeline.store.pseudonyms import pseudonyms_of

        datas = [pf.data for pf in files if pf.data is not None]
        try:
            data = pl.concat(datas, rechunk=True)
        except pl.exceptions.PolarsError:  # not all with the same columns and types
            data = pl.concat(
                [d.select(pl.col(c) if c in d.columns else pl.lit(None).alias(c) for c in self.columns[2:]) for d in datas],
                how="vertical_relaxed",
                rechunk=True,
            )
        heights = [d.height for d in datas]
        sirets = [pf.structure.siret for pf in files]  # type: ignore[union-attr]
        row_sirets = [s for s, h in zip(sirets, heights, strict=True) for _ in range(h)]
        row_ids = [sid for sid, h in zip(snapshot_ids, heights, strict=True) for _ in range(h)]
        pseudonyms = [p for pf in files for p in pseudonyms_of(pf, self.key)]
        return data.select(
            pl.Series("snapshot_id", row_ids, dtype=pl.Int32),
            pl.Series("siret", row_sirets, dtype=pl.String),
            *[
                pl.Series("id_salarie", pseudonyms, dtype=pl.String)
                if c == "id_salarie"
                else pl.col(c) if c in data.columns else pl.lit(None).alias(c)
                for c in self.columns[2:]
            ],
        )
