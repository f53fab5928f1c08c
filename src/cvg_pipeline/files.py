"""The files `cvg` writes: private modes, and what a run that is stopped leaves behind.

- Every command runs under umask 077 (`cli.main`), and the library entry points that create files run under
  `private_umask()`: DuckDB's write-ahead log (`<base>.wal`, the run's pseudonymised rows, and during a schema
  upgrade the key), the lock, the index, backups, reports and error workbooks are readable by their owner
  only, whatever the caller's umask.
- SIGTERM is handled like Ctrl-C (`handle_sigterm`): it raises KeyboardInterrupt, so every `finally` clause
  runs and temporary files are removed.
- A run killed with SIGKILL cannot clean up. Its temporary files carry its PID in a name of the tool's own
  (`.<copie>.partiel-<pid>`, `.<base>.creation-<pid>`, `cvg-mp-<pid>-…`): the next run removes those whose
  process is gone (`remove_stale`), and never any other file.
- The fork server of `cvg ingest` (and its reading worker) put their socket in a private temporary folder
  `cvg-mp-<pid>-…` instead of multiprocessing's anonymous `pymp-…`, removed at exit, or by the next run that
  starts a fork server if the process was killed (`private_mp_tempdir`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

PRIVATE_UMASK = 0o077
MP_TEMP_PREFIX = "cvg-mp-"
_MP_TEMP = re.compile(rf"{re.escape(MP_TEMP_PREFIX)}(?P<pid>\d+)-[A-Za-z0-9_]+")


@contextmanager
def private_umask() -> Iterator[None]:
    """Create files readable by their owner only for the duration of the block (umask 077)."""
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


_INTERRUPTED = [False]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _INTERRUPTED[0] = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    """True once Ctrl-C or SIGTERM came (`handle_interrupts`): a library may have turned the interrupt into
    its own error (DuckDB's « Query interrupted », a RuntimeError), which is then an interrupt all the same."""
    return _INTERRUPTED[0]


def handle_interrupts() -> None:
    """Ctrl-C and SIGTERM (`kill`, a service manager stopping) end the command the same way: a
    KeyboardInterrupt, so that every `finally` runs and temporary files are removed; `interrupted()` says
    it came whatever a library made of it."""
    with contextlib.suppress(ValueError):  # not the main thread (a library caller): leave its handlers alone
        signal.signal(signal.SIGINT, _raise_interrupt)
        signal.signal(signal.SIGTERM, _raise_interrupt)


def handle_sigterm() -> None:
    """SIGTERM ends the command like Ctrl-C (`handle_interrupts`)."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _raise_interrupt)


def pid_alive(pid: int) -> bool:
    """True if a process `pid` exists (other than this one: a file named after our PID that we have not
    created yet is a leftover of an earlier process that had the same PID)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a number no PID can be (a crafted name)
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(
    folder: Path, pattern: re.Pattern[str], accept: Callable[[os.DirEntry[str]], bool] | None = None
) -> list[Path]:
    """Remove the entries of `folder` whose whole name matches `pattern` (a group `pid`), that belong to this
    user, whose process is gone and that `accept` recognises as the tool's own; return them. Best effort: an
    entry that cannot be removed is left."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or pid_alive(int(match.group("pid"))):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            if accept is not None and not accept(entry):
                continue
        except OSError:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def duckdb_file(entry: os.DirEntry[str]) -> bool:
    """A DuckDB database file (magic `DUCK` after the 8-byte checksum), a WAL, or an empty file: what a
    killed copy or creation of a store leaves; never a file of another kind."""
    if not entry.is_file(follow_symlinks=False):
        return False
    if entry.name.endswith(".wal") or entry.stat(follow_symlinks=False).st_size == 0:
        return True
    with open(entry.path, "rb") as fh:
        return fh.read(12)[8:12] == b"DUCK"


def temp_pattern(kind: str) -> re.Pattern[str]:
    """`.<name>.<kind>-<pid>` (and its DuckDB `.wal`): the tool's temporary files next to their target."""
    return re.compile(rf"\..+\.{re.escape(kind)}-(?P<pid>\d+)(\.wal)?")


def private_mp_tempdir() -> Path:
    """Give multiprocessing (the fork server of `cvg ingest`) a temporary folder of the tool's own naming,
    removed at exit; first remove those of killed runs. Returns it (the same one if already set)."""
    import multiprocessing
    import tempfile
    from multiprocessing import util

    config: dict[str, object] = vars(multiprocessing.current_process())["_config"]
    current = config.get("tempdir")
    if isinstance(current, str):
        return Path(current)
    base = Path(tempfile.gettempdir())
    remove_stale(base, _MP_TEMP)
    with private_umask():
        path = tempfile.mkdtemp(prefix=f"{MP_TEMP_PREFIX}{os.getpid()}-", dir=base)
    # Like multiprocessing's own folder: removed by its exit handler, after the fork server has stopped.
    util.Finalize(None, shutil.rmtree, args=(path,), kwargs={"ignore_errors": True}, exitpriority=-100)
    config["tempdir"] = path
    return Path(path)
