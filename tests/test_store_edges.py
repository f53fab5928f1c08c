"""The store's promises at the edges (issue 13, points 7, 8, 12 and 13), with real `python -m cvg_pipeline`
processes, real files and real signals; each test asserts the exit code, the French message and the store's
content afterwards.

- 7: a block that fails DuckDB's checksum is found and refused (ingest, sauvegarder); a checkpoint that fails
  is an error.
- 8: a healthy store that is read-only, or that has the write-ahead log of another store next to it, is not
  called damaged, and nobody is invited to delete it.
- 12: every file the tool creates is its owner's only (0600, folders 0700), DuckDB's `.wal` included, even
  under a permissive umask.
- 13: nothing is left behind by a stopped `cvg sauvegarder` (SIGTERM: at once; SIGKILL: by the next run), a
  killed `cvg ingest` (its multiprocessing folder) or a report on a full disk.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from cvg_pipeline.store.db import create_store
from tests.builders import make_siret, structure, valid_row, write_workbook
from tests.storefill import dump_store

BLOCK = 262144  # DuckDB's block size; the file starts with 3 headers of 4 KiB
HEADER = 3 * 4096


# -- helpers ---------------------------------------------------------------------------------------------------


def _umask_022() -> None:
    os.umask(0o022)  # a permissive parent: what cvg creates must not depend on it


def _read_only_for_root() -> None:
    """Root ignores file modes (CAP_DAC_OVERRIDE): drop that capability (and DAC_READ_SEARCH) from the
    bounding set before exec, so the `cvg` process, still uid 0, meets a read-only file as anyone would."""
    _umask_022()
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(97)


def _full_disk(limit: int) -> Callable[[], None]:
    """A file size limit (RLIMIT_FSIZE): a write past `limit` bytes fails (EFBIG), like a full disk."""

    def preexec() -> None:
        _umask_022()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored across exec: the write fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def cvg(
    *args: str | Path,
    cwd: Path,
    preexec: Callable[[], None] = _umask_022,
    env: dict[str, str] | None = None,
    wrapper: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m cvg_pipeline args` (or `python -c wrapper args`), umask 022 in the child."""
    environ = {k: v for k, v in os.environ.items() if k != "CVG_STORE"} | {"COLUMNS": "200"} | (env or {})
    head = ["-c", wrapper] if wrapper else ["-m", "cvg_pipeline"]
    proc = subprocess.run(
        [sys.executable, *head, *map(str, args)], cwd=cwd, env=environ, preexec_fn=preexec,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def one_line(text: str) -> str:
    return " ".join(text.split())


def workbooks(folder: Path, count: int, *, first: int = 0, rows: int = 6, extra: int = 0) -> list[Path]:
    """`count` valid workbooks, one ACI each (`extra` more rows: another version of the same files)."""
    paths = []
    for k in range(first, first + count):
        siret = make_siret(f"{5550000000000 + k:013d}")
        parcours = [valid_row(**{"Identifiant salarié": f"S{k}-{i}"}) for i in range(rows + extra)]
        paths.append(write_workbook(folder / f"aci-{k:02d}.xlsx", rows=parcours,
                                    structure_fields=structure(SIRET=siret, **{"Nom de la structure": f"ACI {k}"})))
    return paths


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content(store: Path) -> dict[str, list[tuple[object, ...]]]:
    return dump_store(store, ignore=())  # every table, `refus` included


def count(store: Path, table: str = "snapshots") -> int:
    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


def new_store(tmp_path: Path, files: list[Path]) -> Path:
    """A store (`cvg init`'s library function) holding `files`, ingested by a real `cvg ingest`."""
    store = tmp_path / "cvg.duckdb"
    create_store(store)
    done = cvg("ingest", "--store", store, *files, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return store


def damage_a_parcours_block(store: Path) -> int:
    """Flip bytes all over a block that holds parcours data; check that DuckDB's checksum now fails there."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        mine = {r[0] for r in con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('parcours') WHERE block_id >= 0").fetchall()}
        others = set()
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name <> 'parcours'").fetchall():
            others |= {r[0] for r in con.execute(
                f"SELECT DISTINCT block_id FROM pragma_storage_info('{table}') WHERE block_id >= 0").fetchall()}
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()
    finally:
        con.close()
    assert size == (BLOCK,)
    block = min(mine - others)  # parcours alone: the catalog and the other tables still open
    with store.open("r+b") as fh:
        for offset in range(8, BLOCK, 4096):  # past the block's own checksum
            fh.seek(HEADER + block * BLOCK + offset)
            byte = fh.read(1)
            fh.seek(HEADER + block * BLOCK + offset)
            fh.write(bytes([byte[0] ^ 0xFF]))
    con = duckdb.connect(str(store), read_only=True)
    try:
        with pytest.raises(duckdb.Error, match="checksum"):  # the test really damages a checksummed block
            con.execute("SELECT sum(hash(COLUMNS(*))) FROM parcours").fetchall()
    finally:
        con.close()
    return block


# -- point 7: damage is found, and refused ---------------------------------------------------------------------


def test_a_damaged_store_is_refused_by_ingest_and_by_sauvegarder(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: with a parcours block that fails DuckDB's checksum, `cvg ingest` of a
    new file exited 0 (DuckDB's checkpoint at close failed silently, and then every later one), and
    `cvg sauvegarder` copied the damaged file and said « Sauvegarde écrite » (it compared row counts only),
    and `cvg indicators` said « erreur inattendue (IOException) »."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 3))
    (tmp_path / "sauvegardes").mkdir()
    good = cvg("sauvegarder", "--store", store, tmp_path / "sauvegardes" / "bonne.duckdb", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    damage_a_parcours_block(store)
    digest = sha(store)
    new = workbooks(tmp_path / "lot2", 1, first=10)

    ingest = cvg("ingest", "--store", store, *new, cwd=tmp_path)
    assert ingest.returncode == 1
    said = one_line(ingest.stderr)
    assert f"la base « {store} » est endommagée : une partie du fichier ne correspond plus à sa somme de contrôle" in said
    assert "copiez à sa place la dernière bonne sauvegarde (faite avec « cvg sauvegarder »)" in said
    assert sha(store) == digest and not store.with_name("cvg.duckdb.wal").exists()  # nothing written

    copy = tmp_path / "sauvegardes" / "copie.duckdb"
    backup = cvg("sauvegarder", "--store", store, copy, cwd=tmp_path)
    assert backup.returncode == 1
    said = one_line(backup.stdout + backup.stderr)
    assert "est endommagée" in said and "dernière bonne sauvegarde" in said
    assert "Sauvegarde écrite" not in said
    assert sorted(p.name for p in copy.parent.iterdir()) == ["bonne.duckdb"]  # no copy, no partial file
    assert sha(store) == digest

    reader = cvg("indicators", "--store", store, "--national", "--annee", "2023", cwd=tmp_path)  # meets the block
    assert reader.returncode == 1 and reader.stdout == ""
    assert "est endommagée" in one_line(reader.stderr) and "erreur inattendue" not in reader.stderr

    # what the message says to do works: set the damaged store aside, put the good backup in its place
    os.replace(store, tmp_path / "endommagee.duckdb")
    shutil.copyfile(tmp_path / "sauvegardes" / "bonne.duckdb", store)
    again = cvg("ingest", "--store", store, *new, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert count(store) == 4


def test_a_checkpoint_that_fails_is_an_error(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: when DuckDB cannot fold the write-ahead log into the store file (here
    a file size limit, like a full disk, for the store's new blocks), `cvg ingest` exited 0 and left the run
    in the `.wal`. Now exit 1 with a French message; the data are not lost: the next command reads them."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 3))
    new = workbooks(tmp_path / "lot2", 2, first=10)
    limited = cvg("ingest", "--store", store, *new, cwd=tmp_path, preexec=_full_disk(store.stat().st_size))
    assert limited.returncode == 1
    said = one_line(limited.stderr)
    assert f"la base « {store} » n'a pas pu être écrite sur le disque (fichier trop grand" in said
    assert "est resté dans son journal « cvg.duckdb.wal », que DuckDB reprendra à la prochaine ouverture" in said
    history = cvg("historique", "--store", store, cwd=tmp_path)
    assert history.returncode == 0 and "aci-10.xlsx" in history.stdout and "aci-11.xlsx" in history.stdout
    assert cvg("ingest", "--store", store, *new, cwd=tmp_path).returncode == 0  # « déjà intégré »
    assert count(store) == 5 and not store.with_name("cvg.duckdb.wal").exists()


# -- point 8: healthy stores are not « endommagés » ----------------------------------------------------------


def _never_invites_deletion(text: str) -> None:
    assert "fichier endommagé" not in text
    assert re.search(r"(?<!ne )supprimez", text) is None, text


def test_a_read_only_store_is_not_called_damaged(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: `cvg ingest` into a store the user may only read (DuckDB: Permission
    denied) said « ce n'est pas une base cvg valide (fichier endommagé ou d'un autre type) »."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 2))
    store.chmod(0o444)
    before = content(store)
    digest = sha(store)
    preexec = _read_only_for_root if os.geteuid() == 0 else _umask_022
    ingest = cvg("ingest", "--store", store, *workbooks(tmp_path / "lot2", 1, first=10), cwd=tmp_path, preexec=preexec)
    assert ingest.returncode == 1
    said = one_line(ingest.stderr)
    assert f"la base « {store} » ne peut pas être ouverte en écriture : permission refusée" in said
    assert "La base n'est pas endommagée et n'a pas été modifiée" in said
    _never_invites_deletion(said)
    assert sha(store) == digest and content(store) == before
    reader = cvg("historique", "--store", store, cwd=tmp_path, preexec=preexec)  # reading still works
    assert reader.returncode == 0 and "aci-01.xlsx" in reader.stdout


def test_a_stray_journal_of_another_store_is_named(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: a `.wal` of another store next to a healthy store made every command
    say « ce n'est pas une base cvg valide (fichier endommagé ou d'un autre type) »."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 2))
    other = tmp_path / "autre" / "cvg.duckdb"
    create_store(other)
    killed = subprocess.run([sys.executable, "-c", (
        "import duckdb, os, signal, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute(\"SET checkpoint_threshold = '10GB'\")\n"
        "con.execute(\"INSERT INTO meta VALUES ('essai', 'dans le journal')\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"), str(other)], check=False)
    assert killed.returncode == -9
    wal = store.with_name("cvg.duckdb.wal")
    shutil.copyfile(other.with_name("cvg.duckdb.wal"), wal)  # e.g. restored next to the wrong store
    digest, wal_digest = sha(store), sha(wal)
    for args in (["historique"], ["ingest", *map(str, workbooks(tmp_path / "lot2", 1, first=10))]):
        result = cvg(args[0], "--store", store, *args[1:], cwd=tmp_path)
        assert result.returncode == 1
        said = one_line(result.stderr)
        assert f"à côté de la base « {store} » se trouve un journal « cvg.duckdb.wal » qui n'est pas le sien" in said
        assert "La base elle-même n'est pas en cause et n'a pas été modifiée" in said
        assert f"déplacez « {wal} » hors de ce dossier" in said
        _never_invites_deletion(said)
        assert sha(store) == digest and sha(wal) == wal_digest
    os.replace(wal, tmp_path / "journal-de-l-autre-base.wal")  # what the message says: the store is whole
    assert cvg("historique", "--store", store, cwd=tmp_path).returncode == 0
    assert count(store) == 2


# -- point 12: every file the tool creates is private ----------------------------------------------------------

_KILL_AFTER_STORING = """
import os, signal, sys
from cvg_pipeline.ingest import run as ingest
stored = ingest.SnapshotWriter.store_all
def store_all(self, *args, **kwargs):
    out = stored(self, *args, **kwargs)  # committed: the rows are in DuckDB's write-ahead log
    os.kill(os.getpid(), signal.SIGKILL)
    return out
ingest.SnapshotWriter.store_all = store_all
sys.argv[0] = "cvg"
from cvg_pipeline.__main__ import main
main()
"""


def test_every_file_the_tool_creates_is_private_even_under_umask_022(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: under umask 022, DuckDB's `cvg.duckdb.wal` (the run's pseudonymised
    rows) was 0644, and so were the reports; the commands now run under umask 077."""
    work = tmp_path / "travail"
    work.mkdir()
    store = work / "cvg.duckdb"
    create_store(store)
    good = workbooks(tmp_path / "depot", 2)
    bad = write_workbook(tmp_path / "depot" / "refuse.xlsx", rows=[valid_row(**{"Sexe": "?"})],
                         structure_fields=structure(SIRET=make_siret("9990000000000")))
    later = workbooks(tmp_path / "lot2", 1, first=10)
    (tmp_path / "sauvegardes").mkdir()
    inputs = set(tmp_path.rglob("*"))  # what the test made (the store aside: checked too)
    inputs.discard(store)
    assert cvg("ingest", "--store", store, *good, bad, cwd=tmp_path).returncode == 1  # erreurs/ next to the store
    killed = cvg("ingest", "--store", store, *later, cwd=tmp_path, wrapper=_KILL_AFTER_STORING)
    assert killed.returncode == -9
    wal = work / "cvg.duckdb.wal"
    assert wal.exists(), "the kill must leave a write-ahead log"
    wal_mode = stat.S_IMODE(wal.stat().st_mode)
    assert cvg("sauvegarder", "--store", store, tmp_path / "sauvegardes", cwd=tmp_path).returncode == 0
    assert cvg("report", "--store", store, "--national", "--annee", "2023", "--sortie", tmp_path / "rapports",
               cwd=tmp_path).returncode == 0
    assert cvg("template", "--sortie", tmp_path / "modele.xlsx", cwd=tmp_path).returncode == 0
    created = {p: stat.S_IMODE(p.lstat().st_mode) for p in tmp_path.rglob("*") if p not in inputs}
    names = {p.name for p in created}
    assert {"cvg.duckdb.lock", "cvg.duckdb.empreintes", "refuse-erreurs.xlsx", "rapport-national-2023.html",
            "rapport-national-2023.md", "modele.xlsx"} <= names, names
    assert any(n.startswith("cvg-") and n.endswith(".duckdb") for n in names)  # the backup
    assert wal_mode == 0o600, oct(wal_mode)
    loose = {str(p.relative_to(tmp_path)): oct(m) for p, m in created.items() if m & 0o077}
    assert loose == {}
    assert count(store) == 3  # the killed run's file was committed: its journal was read back


# -- point 13: nothing left behind ---------------------------------------------------------------------------------

_SLOW_COPY = """
import shutil, sys, time
from pathlib import Path
marker = Path(sys.argv.pop(1))
real = shutil.copyfileobj
def copy(src, dst, length=0):
    real(src, dst, length)
    marker.write_text("copié")
    time.sleep(120)
shutil.copyfileobj = copy
sys.argv[0] = "cvg"
from cvg_pipeline.__main__ import main
main()
"""


def _stopped_backup(store: Path, copy: Path, marker: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start `cvg sauvegarder`, wait until its copy is written (not yet checked), send `sig`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_COPY, str(marker), "sauvegarder", "--store", str(store), str(copy)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_umask_022,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        partial = list(copy.parent.glob(f".{copy.name}.partiel-*"))
        assert len(partial) == 1 and partial[0].stat().st_size == store.stat().st_size  # a full copy, key included
        assert stat.S_IMODE(partial[0].stat().st_mode) == 0o600
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in out + err
    return proc.returncode, one_line(out + err)


def test_a_stopped_backup_leaves_no_partial_copy(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: SIGTERM killed `cvg sauvegarder` on the spot (no handler) and left
    `.copie.duckdb.partiel-PID`, a full copy of the store with its key; one left by a SIGKILL was never removed.
    Now SIGTERM ends it like Ctrl-C (exit 130, « interrompu », no partial file), and the next run removes the
    partial file of a killed one."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 2))
    before = content(store)
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    code, said = _stopped_backup(store, folder / "copie.duckdb", tmp_path / "copie-1", signal.SIGTERM)
    assert code == 130 and "interrompu" in said
    assert list(folder.iterdir()) == []

    code, _ = _stopped_backup(store, folder / "copie.duckdb", tmp_path / "copie-2", signal.SIGKILL)
    assert code == -9
    assert next(p.name for p in folder.iterdir()).startswith(".copie.duckdb.partiel-")  # the kill's leftover
    done = cvg("sauvegarder", "--store", store, folder / "copie.duckdb", cwd=tmp_path)
    assert done.returncode == 0 and "Sauvegarde écrite" in done.stdout
    assert [p.name for p in folder.iterdir()] == ["copie.duckdb"]  # the stale partial copy was removed
    assert content(folder / "copie.duckdb") == before == content(store)


def test_a_killed_ingest_leaves_no_multiprocessing_folder(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: each `cvg ingest` killed while its reading worker's fork server ran left
    a `pymp-…` folder in the temporary directory, never removed. Now the fork server uses `cvg-mp-<pid>-…`,
    removed at exit and, after a kill, by the next run that starts one."""
    from cvg_pipeline.ingest.run import MIN_FILES_FOR_WORKER

    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    store = tmp_path / "cvg.duckdb"
    create_store(store)
    first = workbooks(tmp_path / "lot1", MIN_FILES_FOR_WORKER, rows=2)
    second = workbooks(tmp_path / "lot2", MIN_FILES_FOR_WORKER, rows=2, extra=1)
    environ = {k: v for k, v in os.environ.items() if k != "CVG_STORE"} | env
    proc = subprocess.Popen([sys.executable, "-m", "cvg_pipeline", "ingest", "--store", str(store), *map(str, first)],
                            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(temp.iterdir()):  # the fork server's folder
            assert proc.poll() is None, "ingest ended before starting its fork server"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command, its fork server and worker
        proc.wait()
    time.sleep(0.2)
    left = sorted(p.name for p in temp.iterdir())
    assert left, "the kill leaves the folder of the killed run"
    done = cvg("ingest", "--store", store, *second, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in temp.iterdir()) == []
    assert count(store) == MIN_FILES_FOR_WORKER and count(store, "parcours") == 3 * MIN_FILES_FOR_WORKER


def test_a_report_on_a_full_disk_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: a report that could not be written whole (full disk, here a file size
    limit) left `rapport-….html.tmp`, half-written, next to the reports."""
    store = new_store(tmp_path, workbooks(tmp_path / "lot1", 2))
    before = content(store)
    whole = tmp_path / "entiers"
    assert cvg("report", "--store", store, "--national", "--annee", "2023", "--sortie", whole, cwd=tmp_path).returncode == 0
    md, html = (whole / f"rapport-national-2023.{ext}" for ext in ("md", "html"))
    assert md.stat().st_size < html.stat().st_size
    limit = (md.stat().st_size + html.stat().st_size) // 2  # the Markdown fits, the HTML does not
    out = tmp_path / "rapports"
    result = cvg("report", "--store", store, "--national", "--annee", "2023", "--sortie", out, cwd=tmp_path,
                 preexec=_full_disk(limit))
    assert result.returncode == 1
    assert f"impossible d'écrire le rapport dans « {out} »" in one_line(result.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["rapport-national-2023.md"]  # the one that fit; no .tmp
    assert content(store) == before


def test_only_the_tools_own_leftovers_of_dead_processes_are_removed(tmp_path: Path) -> None:
    """Fails on main before 8a984e4: a `.cvg.duckdb.creation-PID` or `.copie.duckdb.partiel-PID` left by a
    killed run stayed for ever. Now the next `cvg init` / `cvg sauvegarder` in that folder removes them, and
    only them: not a live process's, not a file of that name that is not a DuckDB file."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    gone, alive = int(dead.stdout), os.getppid()
    source = tmp_path / "source.duckdb"
    create_store(source)
    folder = tmp_path / "base"
    folder.mkdir()
    leftovers = {
        f".cvg.duckdb.creation-{gone}": source.read_bytes(),  # a killed `cvg init`: removed
        f".cvg.duckdb.creation-{gone}.wal": b"",  # and its journal
        f".copie.duckdb.partiel-{gone}": source.read_bytes()[: 3 * 4096],  # a killed backup: removed
        f".copie.duckdb.partiel-{alive}": source.read_bytes(),  # a running one: kept
        f".notes.partiel-{gone}": b"pas une base DuckDB",  # not the tool's: kept
    }
    for name, data in leftovers.items():
        (folder / name).write_bytes(data)
    assert cvg("init", "--store", folder / "cvg.duckdb", cwd=tmp_path).returncode == 0
    assert cvg("sauvegarder", "--store", folder / "cvg.duckdb", folder / "copie-2.duckdb", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "cvg.duckdb", "cvg.duckdb.lock", "cvg.duckdb.empreintes", "copie-2.duckdb",
        f".copie.duckdb.partiel-{alive}", f".notes.partiel-{gone}",
    ])
    assert (folder / f".notes.partiel-{gone}").read_bytes() == b"pas une base DuckDB"
    assert count(folder / "copie-2.duckdb") == 0


@pytest.mark.parametrize("pid", [0, -3, 2**70, "own"])
def test_a_pid_no_process_can_have_is_not_alive(pid: int | str) -> None:
    """A crafted leftover name `.x.partiel-99999999999999999999999` made os.kill raise OverflowError, so
    `cvg template` (and backups) crashed with « erreur inattendue » while cleaning up."""
    from cvg_pipeline.files import pid_alive

    assert pid_alive(os.getpid() if pid == "own" else int(pid)) is False
