"""The files `cvg` writes: private modes, and what a run that is stopped leaves behind.

- Every command runs under umask 077 (`cli.main`), and the library entry points that create files run under
  `private_umask()`: DuckDB's write-ahead log (`<base>.wal`, the run's pseudonymised rows, and during a schema
  upgrade the key), the lock, the index, backups, reports and error workbooks are readable by their owner
  only, whatever the caller's umask.
- SIGTERM is handled like Ctrl-C (`handle_interrupts`): it raises KeyboardInterrupt, so every `finally` clause
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, BinaryIO

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
    if _IMPORTS[0]:  # in the middle of an import: raised once it is over (`_deferring_import`)
        _PENDING[0] = True
        return
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


# An interrupt in the middle of an import can break a compiled library beyond repair (DuckDB's nanobind
# aborts the process with « Critical nanobind error » when Ctrl-C lands in its start-up). So while an import
# statement runs, Ctrl-C and SIGTERM are only noted (the handler always runs in the main thread, whichever
# thread the kernel gave the signal to); the KeyboardInterrupt is raised as soon as the outermost import is
# over, the module complete.
_IMPORTS = [0]  # import statements running in the main thread
_PENDING = [False]  # an interrupt came during one of them


def _deferring_import(
    name: str, globals: Mapping[str, object] | None = None, locals: Mapping[str, object] | None = None,
    fromlist: Sequence[str] = (), level: int = 0,
) -> ModuleType:
    _IMPORTS[0] += 1
    try:
        module = _REAL_IMPORT[0](name, globals, locals, fromlist, level)
    finally:
        _IMPORTS[0] -= 1
    if _IMPORTS[0] == 0 and _PENDING[0]:
        _PENDING[0] = False
        raise KeyboardInterrupt
    return module


_REAL_IMPORT: list[Callable[..., ModuleType]] = []


def defer_interrupts_during_imports() -> None:
    """Install `_deferring_import` once (the command line only: it changes how this process imports)."""
    import builtins
    import threading

    if _REAL_IMPORT or threading.current_thread() is not threading.main_thread():
        return
    _REAL_IMPORT.append(builtins.__import__)

    def importing(*args: Any, **kwargs: Any) -> ModuleType:
        if threading.current_thread() is not threading.main_thread():  # other threads import as usual
            return _REAL_IMPORT[0](*args, **kwargs)
        return _deferring_import(*args, **kwargs)

    builtins.__import__ = importing


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


# -- writing a new file: never a half-written one, never over a file that is not ours ----------------------------
TEMP_MARK = ".partiel-"  # temporary file: .<name>.partiel-<pid>, in the destination folder


def temporary_path(path: Path, pid: int | None = None) -> Path:
    """The temporary file `path` is written to: hidden, in the same folder, named after this process."""
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid() if pid is None else pid}")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files of `path` left by runs that died (`remove_stale`: their process is gone, or
    had this process's PID, as in a container that restarts its processes under the same numbers)."""
    return remove_stale(path.parent, re.compile(re.escape(f".{path.name}{TEMP_MARK}") + r"(?P<pid>\d+)"))


class FileExists(Exception):
    """`write_new_file` found `path` taken and was not asked to replace it; nothing was written."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def write_new_file(path: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> None:
    """Write `path` (0600) through a temporary file of the tool's own naming in the same folder, then give it
    its name: atomically replaced if `overwrite`, else never over an existing file (FileExists, even if one
    appears meanwhile). A failure, Ctrl-C or SIGTERM (KeyboardInterrupt) leaves neither a half-written file
    nor the temporary file; one left by a killed run is removed by the next (`remove_stale_temporaries`).
    OSError for a folder that cannot be written."""
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExists(path)
    remove_stale_temporaries(path)
    tmp = temporary_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        _publish(tmp, path, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path, *, overwrite: bool) -> None:
    """Give the finished temporary file its name: atomically replaced if asked, never clobbered otherwise."""
    if overwrite:
        os.replace(tmp, path)
        return
    if not link_new(tmp, path):  # taken meanwhile
        raise FileExists(path)


def link_new(tmp: Path, dest: Path) -> bool:
    """Give the finished file `tmp` the name `dest` too, if no file, folder or link (even a dangling one) has
    it: True when done, False when the name is taken (then nothing was changed). Never replaces anything:
    a hard link (atomic, fails if `dest` exists, never follows a symbolic link at `dest`); on a file system
    without hard links (FAT, some network shares), `dest` created exclusively (O_EXCL, O_NOFOLLOW, 0600) and
    `tmp` copied into it, removed again if the copy fails, so a name that appears meanwhile is never taken
    over. The caller removes `tmp`. OSError when the folder cannot be written."""
    try:
        os.link(tmp, dest)
        return True
    except FileExistsError:
        return False
    except OSError:
        pass  # no hard links here: the exclusive creation below
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as out, tmp.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dest)  # ours: created just above
        raise
    return True
