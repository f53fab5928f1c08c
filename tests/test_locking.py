"""The store's inter-process lock (locking.py + store.open_store), with real second processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cvg_pipeline.check.errors import CvgError, StoreBusyError
from cvg_pipeline.store.db import STORE_SCHEMA_VERSION, open_store
from cvg_pipeline.store.locking import DEFAULT_WAIT, default_wait, lock_path, set_default_wait, store_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cvg_pipeline.store.locking import store_lock
    with store_lock(Path(sys.argv[1]), exclusive=sys.argv[2] == "ex", wait=0):
        print("locked", flush=True)
        time.sleep(float(sys.argv[3]))
    """
)


def hold(store: Path, mode: str, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the lock for `seconds`; returns once it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store), mode, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "cvg.duckdb"
    with open_store(path, read_only=False, create=True):
        pass
    return path


def test_lock_file_is_private(store: Path) -> None:
    assert lock_path(store).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("held", "wanted_exclusive"), [("ex", True), ("ex", False), ("sh", True)])
def test_conflicting_lock_fails_at_once_without_wait(
    store: Path, held: str, wanted_exclusive: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = hold(store, held, 30)
    try:
        with pytest.raises(StoreBusyError, match="est utilisée par un autre traitement"), store_lock(
            store, exclusive=wanted_exclusive, wait=0
        ):
            pass
    finally:
        proc.kill()
        proc.wait()
    assert "attente" not in capsys.readouterr().err  # no wait announced when not waiting


def test_two_readers_share_the_lock(store: Path) -> None:
    proc = hold(store, "sh", 30)
    try:
        with open_store(store, read_only=True, wait=0) as con:
            assert con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)
    finally:
        proc.kill()
        proc.wait()


def test_waits_with_a_french_message_then_proceeds(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = hold(store, "ex", 0.7)
    try:
        with open_store(store, read_only=False, wait=30) as con:
            assert con.execute("SELECT valeur FROM meta WHERE cle = 'schema_version'").fetchone() == (
                str(STORE_SCHEMA_VERSION),)
        err = capsys.readouterr().err
        assert f"La base « {store} » est utilisée par un autre traitement : attente (30 s au plus)…" in err
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_gives_up_after_the_wait(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = hold(store, "ex", 30)
    try:
        start = time.monotonic()
        with pytest.raises(StoreBusyError) as info, open_store(store, read_only=True, wait=0.3):
            pass
        assert time.monotonic() - start >= 0.3
        assert "la base" in info.value.message.lower()
        assert "est utilisée par un autre traitement" in info.value.message
        assert "attente (0.3 s au plus)" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_releases_the_lock(store: Path) -> None:
    proc = hold(store, "ex", 60)
    proc.kill()  # SIGKILL: no cleanup code runs, the kernel drops the lock
    proc.wait()
    with open_store(store, read_only=False, wait=0) as con:
        assert con.execute("SELECT count(*) FROM meta").fetchone() is not None


def test_default_wait_is_settable() -> None:
    before = default_wait()
    try:
        set_default_wait(3)
        assert default_wait() == 3.0
        set_default_wait(-1)
        assert default_wait() == 0.0
    finally:
        set_default_wait(before)
    assert DEFAULT_WAIT == 60.0


@pytest.mark.parametrize("command", ["indicators", "report", "sauvegarder"])
def test_attente_help_states_the_real_default(command: str) -> None:
    from typer.testing import CliRunner

    from cvg_pipeline.cli import app

    result = CliRunner().invoke(app, [command, "-h"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"(défaut : {DEFAULT_WAIT:g} ; 0 : ne pas attendre)" in " ".join(result.stdout.split())


def test_lock_file_not_creatable(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only folder: a reader proceeds without the lock file, a writer gets a French message."""
    import cvg_pipeline.store.locking as locking

    lock_path(store).unlink()

    def denied(*_args: object, **_kwargs: object) -> int:
        raise PermissionError(13, "Permission non accordée")

    monkeypatch.setattr(locking.os, "open", denied)
    import os

    before = os.umask(0o022)
    try:
        with store_lock(store, exclusive=False, wait=0):
            inside = os.umask(0o022)  # what the reader's body runs with: the process's own umask
            os.umask(inside)
    finally:
        os.umask(before)
    assert inside == 0o022  # not the lock file's 0o077 left set while the reader works
    with pytest.raises(CvgError, match=r"ne peut pas être verrouillée .*droits d'écriture"), store_lock(
        store, exclusive=True, wait=0
    ):
        pass
