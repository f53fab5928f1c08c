"""INGEST: discover → hash → read and normalise (this process and one worker) → validate once → store, one
transaction for the whole run. This module runs those stages; each has its own module:

- ingest/discovery.py: which files are read, from the files and folders given (what is skipped, refused).
- ingest/hashing.py: every file is hashed (sha256) first: bytes already in the store are `déjà intégré` and
  never parsed. When all of them are, the store's index (store/index.py) answers without opening DuckDB.
  The same bytes twice in a run are read once: refused, they are refused under each name; stored, the
  others are `déjà intégré`. A file is stored under the hash of the bytes the reader parsed (it may have been
  replaced on disk since it was hashed).
- ingest/reading.py and ingest/parallel.py: new files are read and normalised (read/workbook.py) in chunks,
  by this process and one worker process (from 32 files); each reader also marks the rows that may fail a
  rule and pseudonymises the identifiers of its chunk (store/pseudonyms.py). Then the rule checks of all
  files run in ONE pandera call, on the marked rows only (check/validate.py).
- store/snapshots.py: the accepted files are stored in one transaction (file by file if that fails), as
  `decide` says: `remplacé`, `historique`, `intégré`; two files of a run with the same SIRET and Date
  d'arrêté and different bytes are both refused (`arrete-en-double`). A rejected file (`rejeté`) changes
  nothing. Nothing is retried after an interrupt or a failure to write the store (full disk): the result
  says what was stored and what was not (`non enregistré`).
- ingest/results.py: what is said of each file (`FileResult`, `IngestResult`).

Library code: nothing is printed here. The commands (`cvg ingest`, `cvg verifier`) render the results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import CvgError, issue
from cvg_pipeline.fr import aujourdhui
from cvg_pipeline.ingest.discovery import Candidate, discover, no_workbook_message
from cvg_pipeline.ingest.hashing import already_stored, hash_all
from cvg_pipeline.ingest.parallel import Parallelism
from cvg_pipeline.ingest.reading import PARALLELISM, read_workbook_files
from cvg_pipeline.ingest.results import (
    DEJA_INTEGRE,
    HISTORIQUE,
    IGNORE,
    INTEGRE,
    NON_ENREGISTRE,
    REJETE,
    REMPLACE,
    VERIFIE,
    FileResult,
    IngestResult,
    Interrupted,
    Progress,
    copy_result,
    in_order,
    no_progress,
    result_of,
)
from cvg_pipeline.ingest.suivi import record_refusals
from cvg_pipeline.read.model import ParsedFile
from cvg_pipeline.store.failures import StoreFailed, watch_interrupts, write_failure
from cvg_pipeline.store.snapshots import ARRETE_EN_DOUBLE, Incoming, SnapshotWriter, Stored, decide

if TYPE_CHECKING:  # the schema and the store are imported where used: a run whose files are all stored needs
    # neither (see ingest_paths)
    from cvg_pipeline.schema.load import Schema


def _parse_and_validate(
    hashed: Sequence[tuple[Candidate, str]],
    schema: Schema,
    *,
    known: dict[str, tuple[Any, ...]],
    today: date,
    progress: Progress,
    key: bytes | None = None,
    one_per_arrete: bool = False,
    parallelism: Parallelism = PARALLELISM,
) -> tuple[list[FileResult], list[ParsedFile], dict[str, list[Candidate]]]:
    """Skip known bytes, read the rest in parallel, validate all at once.

    Returns the results of files that need no storing (already there, rejected), the parsed files without
    errors, and the other files of the run with the same bytes as one of those (sha256 → files), which are
    neither read nor stored again (`déjà intégré` once it is stored).

    - A file is known by the hash of the bytes parsed (the reader's): a file replaced on disk after it was
      hashed is stored under its new content's hash, and the files that had its old bytes are read too.
    - The same bytes twice in a run are read once; refused, they are refused under each name, with the same
      errors (and each gets its error workbook).
    - `one_per_arrete` (ingest): accepted files with the same SIRET and Date d'arrêté but different bytes
      are all refused (`arrete-en-double`): which one is right is the analyst's choice, never the order of
      the names. A file with the bytes already stored is not one of them (it is `déjà intégré`).
    """
    done: list[FileResult] = []
    todo: list[tuple[Candidate, str]] = []  # read: the first file of each new content
    copies: list[list[Candidate]] = []  # todo[k]'s later files with the same bytes
    first: dict[str, int] = {}
    for c, sha in hashed:
        if sha in known:
            done.extend(already_stored([(c, sha)], known))
        elif sha in first:
            copies[first[sha]].append(c)
        else:
            first[sha] = len(todo)
            todo.append((c, sha))
            copies.append([])

    def read(items: Sequence[tuple[Candidate, str]]) -> list[ParsedFile]:
        return read_workbook_files(
            [(c.path, c.name, sha) for c, sha in items], schema, today=today, progress=progress, key=key,
            parallelism=parallelism,
        )

    parsed = read(todo)
    # Replaced since hashed: its copies had the old bytes, they are read on their own.
    again = [(c, sha) for (_, sha), pf, cs in zip(todo, parsed, copies, strict=True) if pf.sha256 != sha for c in cs]
    if again:
        copies = [[] if pf.sha256 != sha else cs for (_, sha), pf, cs in zip(todo, parsed, copies, strict=True)]
        parsed += read(again)
        todo += again
        copies += [[] for _ in again]
    kept: list[int] = []
    owner: dict[str, int] = {}
    for k, pf in enumerate(parsed):
        files = [todo[k][0], *copies[k]]
        if pf.sha256 in known:  # replaced on disk by bytes already stored
            done.extend(already_stored([(c, pf.sha256) for c in files], known))
        elif pf.sha256 in owner:  # replaced on disk by bytes read under another name
            copies[owner[pf.sha256]].extend(files)
        else:
            owner[pf.sha256] = k
            kept.append(k)
    if kept:
        progress("validation", 0, 1)
        from cvg_pipeline.check.validate import validate

        validate([parsed[k] for k in kept if parsed[k].data is not None], schema)
        progress("validation", 1, 1)
    good = [k for k in kept if parsed[k].ok and _storable(parsed[k])]
    if one_per_arrete:
        doubles = _same_arrete({k: parsed[k] for k in good})
        good = [k for k in good if k not in doubles]
    accepted = set(good)
    refused = [k for k in kept if k not in accepted]  # the set built once: thousands of files per run
    for k in refused:
        result = result_of(parsed[k], REJETE)
        done.append(result)
        done.extend(copy_result(result, c, REJETE) for c in copies[k])
    return done, [parsed[k] for k in good], {parsed[k].sha256: copies[k] for k in good if copies[k]}


def _same_arrete(files: dict[int, ParsedFile]) -> set[int]:
    """The files (keys) that share their SIRET and Date d'arrêté with another one (`decide`: refused as
    `arrete-en-double`): each gets that error naming the others (by path when two have the same name)."""
    keys = list(files)
    plan = decide([Incoming.of(files[k]) for k in keys], Stored())
    out: set[int] = set()
    for k, decision in zip(keys, plan.decisions, strict=True):
        if decision.statut != ARRETE_EN_DOUBLE:
            continue
        pf = files[k]
        group = [pf, *(files[keys[j]] for j in decision.doubles)]
        names = [f.fichier for f in group]
        others = [str(f.path) if names.count(f.fichier) > 1 else f.fichier for f in group[1:]]
        assert pf.structure is not None and pf.structure.date_arrete is not None
        pf.issues.append(issue(
            "arrete-en-double", pf.fichier, siret=pf.structure.siret,
            date_arrete=pf.structure.date_arrete.strftime("%d/%m/%Y"),
            autres=" et ".join(f"« {o} »" for o in others),
        ))
        out.add(k)
    return out


def _storable(pf: ParsedFile) -> bool:
    s = pf.structure
    return (
        s is not None
        and pf.data is not None
        and s.siret is not None
        and s.date_arrete is not None
        and s.nom is not None
        and s.territoire is not None
    )


def verify_paths(
    paths: Iterable[Path | str],
    *,
    schema: Schema | None = None,
    today: date | None = None,
    progress: Progress = no_progress,
) -> list[FileResult]:
    """`cvg verifier`: the same reading and validation as ingest, nothing stored. Accepted files: `valide`."""
    from cvg_pipeline.schema.load import load_schema

    schema = schema or load_schema()
    candidates, skipped = discover(paths)
    hashed, unreadable = hash_all(candidates)
    done, good, copies = _parse_and_validate(hashed, schema, known={}, today=today or aujourdhui(), progress=progress)
    done = unreadable + done
    valid = [result_of(pf, VERIFIE) for pf in good]
    same = [copy_result(r, c, DEJA_INTEGRE) for r in valid for c in copies.get(r.sha256 or "", [])]
    results = skipped + done + valid + same
    # `déjà intégré` here only means the same bytes were given twice
    return in_order(results, candidates, skipped)


_NOTHING_STORED = "interrompu : rien n'a été enregistré, la base est restée telle qu'avant."


def ingest_paths(
    paths: Iterable[Path | str],
    store_path: Path,
    *,
    schema: Schema | None = None,
    today: date | None = None,
    progress: Progress = no_progress,
    wait: float | None = None,
    parallelism: Parallelism = PARALLELISM,
) -> IngestResult:
    """`cvg ingest`: read, validate and store every file found under `paths` into the store (`_ingest_paths`).

    Ctrl-C (or SIGTERM) before anything is stored raises Interrupted (« rien n'a été enregistré »); once
    something is, the result says what (`IngestResult.interrompu`). An interrupt is recognised however it
    surfaces: KeyboardInterrupt, or DuckDB's « Query interrupted » when it came during a statement.

    `wait`: seconds a busy store is waited for (`--attente`; None: 60). `parallelism`: how the reading is
    shared with a worker process (ingest/parallel.py; tests make it start for a few files or not at all)."""
    with watch_interrupts() as seen:
        try:
            return _ingest_paths(
                paths, store_path, schema=schema, today=today, progress=progress, seen=seen, wait=wait,
                parallelism=parallelism,
            )
        except Exception:
            if not seen[0]:
                raise
            raise Interrupted(_NOTHING_STORED) from None
        except KeyboardInterrupt:
            raise Interrupted(_NOTHING_STORED) from None


def _ingest_paths(
    paths: Iterable[Path | str],
    store_path: Path,
    *,
    schema: Schema | None,
    today: date | None,
    progress: Progress,
    seen: list[bool],
    wait: float | None,
    parallelism: Parallelism,
) -> IngestResult:
    """`cvg ingest`: read, validate and store every file found under `paths` into the store.

    When every file's bytes are already stored, the store's index (store/index.py) says so without opening
    DuckDB: nothing is parsed and nothing is written. No workbook at all is an error (a wrong folder?):
    nothing is opened nor created.
    """
    candidates, skipped = discover(paths)
    if not store_path.exists():  # refused before anything is read or created: `cvg init` creates a store
        from cvg_pipeline.store.checks import missing_store_message

        raise CvgError(missing_store_message(store_path))
    if not candidates:
        raise CvgError(no_workbook_message(paths, skipped))
    hashed, unreadable = hash_all(candidates)
    indexed = _known_from_index(store_path, wait) if not unreadable else None
    if indexed is not None and all(sha in indexed[0] for _, sha in hashed):
        known, names = indexed
        files = in_order(skipped + already_stored(hashed, known), candidates, skipped)
        return IngestResult(files, store_path, territoire_names=names)
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import known_hashes, open_store

    schema = schema or load_schema()
    new = len(hashed) if indexed is None else sum(sha not in indexed[0] for _, sha in hashed)
    if new >= parallelism.min_files_for_worker:
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # else this process reads every file
            parallelism.start_fork_server()  # its imports overlap the opening of the store
    writer: SnapshotWriter | None = None
    done: list[FileResult] = []
    good: list[ParsedFile] = []
    copies: dict[str, list[Candidate]] = {}
    failure: str | None = None
    interrupted = False
    try:
        with open_store(store_path, read_only=False, wait=wait) as con:  # a missing store is refused: `cvg init` creates it
            known = known_hashes(con)
            writer = SnapshotWriter(con, schema)
            done, good, copies = _parse_and_validate(
                hashed, schema, known=known, today=today or aujourdhui(), progress=progress, key=writer.key,
                one_per_arrete=True, parallelism=parallelism,
            )
            if seen[0]:  # Ctrl-C that a parser (Rust) turned into its own error, i.e. a file « illisible »
                raise KeyboardInterrupt
            # Oldest snapshot first, so that a batch holding several months of one ACI ends on its latest.
            order = sorted(good, key=lambda p: (p.structure.siret, p.structure.date_arrete))  # type: ignore[union-attr]
            writer.store_all(order, progress)
            try:
                record_refusals(con, [*unreadable, *done], datetime.now().replace(microsecond=0))
            except Exception as exc:  # a full disk here too: said as such, with what was stored before
                cause = write_failure(exc)
                if cause is None:
                    raise
                raise StoreFailed(cause) from exc
    except StoreFailed as exc:
        failure = exc.cause
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt) and not (seen[0] and isinstance(exc, Exception)):
            raise
        if writer is None or not (writer.stored or writer.unknown):
            raise Interrupted(_NOTHING_STORED) from None
        interrupted = True
    assert writer is not None
    stored = {pf.sha256: result_of(pf, statut) for pf, statut in writer.stored}
    left = [result_of(pf, NON_ENREGISTRE) for pf in good if pf.sha256 not in stored]
    results = list(stored.values()) + left
    same = [
        copy_result(r, c, DEJA_INTEGRE if r.statut != NON_ENREGISTRE else NON_ENREGISTRE)
        for r in results
        for c in copies.get(r.sha256 or "", [])
    ]
    files = in_order(skipped + unreadable + done + results + same, candidates, skipped)
    echec = None
    if interrupted:
        echec = _interrupted_message(len(stored), len(left), writer.unknown)
    elif failure is not None:
        echec = _failure_message(failure, len(stored), len(left), writer.unknown)
    return IngestResult(files, store_path, echec=echec, interrompu=interrupted)


def _interrupted_message(stored: int, left: int, unknown: bool) -> str:
    from cvg_pipeline.fr import pluriel

    if unknown:
        return (
            "interrompu pendant l'enregistrement, qui a peut-être abouti : relancez la même commande, les "
            "fichiers déjà enregistrés seront reconnus."
        )
    if not left:
        return f"interrompu après l'enregistrement : {pluriel(stored, 'fichier enregistré', 'fichiers enregistrés')} (voir le tableau)."
    return (
        f"interrompu pendant l'enregistrement : {pluriel(stored, 'fichier enregistré', 'fichiers enregistrés')}, "
        f"{pluriel(left, 'fichier valide non enregistré', 'fichiers valides non enregistrés')} (voir le tableau). "
        "Relancez la même commande pour les intégrer : les fichiers déjà enregistrés seront reconnus."
    )


def _failure_message(cause: str, stored: int, left: int, unknown: bool) -> str:
    from cvg_pipeline.fr import pluriel

    if unknown:
        what = "impossible de relire la base pour savoir si le dernier lot a été enregistré"
    elif not stored:
        what = "aucun fichier n'a été enregistré, la base est restée telle qu'avant"
    else:
        what = f"{pluriel(stored, 'fichier a été enregistré', 'fichiers ont été enregistrés')} (complets) avant l'erreur"
    return (
        f"enregistrement impossible : {cause}. {what[:1].upper() + what[1:]} ; "
        f"{pluriel(left, 'fichier valide non enregistré', 'fichiers valides non enregistrés')} (voir le tableau). "
        "Réglez le problème, puis relancez la même commande : les fichiers déjà enregistrés seront reconnus."
    )


def _known_from_index(
    store_path: Path, wait: float | None
) -> tuple[dict[str, tuple[Any, ...]], dict[str, str] | None] | None:
    """The store's index (and territoire names), read under the store's shared lock; None if absent or stale
    (then DuckDB is read)."""
    from cvg_pipeline.store import index as store_index
    from cvg_pipeline.store.locking import store_lock

    if not store_path.is_file():
        return None
    with store_lock(store_path, exclusive=False, wait=wait):
        return store_index.load(store_path)



def snapshot_history(
    store_path: Path, *, schema: Schema | None = None, territoire: str | None = None, wait: float | None = None
) -> list[dict[str, Any]]:
    """`cvg historique`: the stored snapshots and the refused files (`statut` « intégré » or « refusé », with
    the error codes of a refusal), latest Date d'arrêté first (then latest received first); refusals whose
    Date d'arrêté could not be read come last."""
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import open_store

    schema = schema or load_schema()
    from cvg_pipeline.schema.territoires import resolve_territoire

    slug = resolve_territoire(schema, territoire) if territoire is not None else None
    where = " WHERE territoire = ?" if slug else ""
    sql = (
        "SELECT fichier, nom, siret, territoire, date_arrete, nb_lignes, ingere_le, avertissements, "
        f"'intégré' AS statut, NULL AS codes FROM snapshots{where} UNION ALL "
        "SELECT fichier, nom, siret, territoire, date_arrete, NULL, recu_le, '', 'refusé', codes "
        f"FROM refus{where} ORDER BY date_arrete DESC NULLS LAST, ingere_le DESC, fichier"
    )
    with open_store(store_path, read_only=True, wait=wait) as con:
        cur = con.execute(sql, [slug, slug] if slug else [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


__all__ = [
    "DEJA_INTEGRE",
    "HISTORIQUE",
    "IGNORE",
    "INTEGRE",
    "REJETE",
    "REMPLACE",
    "VERIFIE",
    "FileResult",
    "IngestResult",
    "discover",
    "ingest_paths",
    "snapshot_history",
    "verify_paths",
]
