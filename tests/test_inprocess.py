"""tests/inprocess.py, the runner that gives `cvg ARGS` through cli.main inside the test process: it sees all
that a process would show, and leaves the test process as it found it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests import inprocess


def test_output_written_straight_to_the_descriptors_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiled library writing to file descriptors 1 and 2 bypasses sys.stdout / sys.stderr: a test that
    searches a command's output (for personal data, for English) must see it all the same."""
    import cvg_pipeline.store.db as db

    resolve = db.resolve_store_path

    def noisy(*args: object, **kwargs: object) -> Path:
        os.write(2, b"ecrit-sur-fd2\n")
        os.write(1, b"ecrit-sur-fd1\n")
        return resolve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "resolve_store_path", noisy)
    proc = inprocess.run("historique", "--store", tmp_path / "absente.duckdb")
    assert proc.returncode == 1 and "n'existe pas" in proc.stderr
    assert "ecrit-sur-fd2" in proc.stderr and "ecrit-sur-fd1" in proc.stdout


def test_the_test_process_is_left_as_it_was(tmp_path: Path) -> None:
    """cli.main sets the umask, the SIGINT / SIGTERM handlers, the streams and the --debug flag: all put back."""
    from cvg_pipeline.commands import common

    umask = os.umask(0o022)
    os.umask(umask)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    import sys

    streams = (sys.stdout, sys.stderr)
    state = dict(common.STATE)  # (a CliRunner test of this worker may have left « said » set: not our business)
    made = inprocess.run("--debug", "init", "--store", tmp_path / "cvg.duckdb")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "cvg.duckdb").stat().st_mode & 0o777 == 0o600  # cli.main's umask applied to the run
    assert os.umask(umask) == umask
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert (sys.stdout, sys.stderr) == streams
    assert dict(common.STATE) == state
