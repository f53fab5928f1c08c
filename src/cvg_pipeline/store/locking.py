"""An inter-process lock on the store: `<store>.lock` next to it, held with `fcntl.flock`.

Readers (indicators, report, historique, sauvegarder) take a shared lock, writers (ingest, migrations) an
exclusive one, always BEFORE DuckDB opens the file; DuckDB's own file lock would make the second process fail
at once, this one makes it wait. A process that finds the store busy prints, on stderr,
« La base … est utilisée par un autre traitement : attente (60 s au plus)… » and polls until the lock is
free or `wait` seconds have passed, then raises `StoreBusyError` (exit 1, French message, no traceback).

The lock dies with its process (a SIGKILLed ingest never leaves a stale lock: the kernel drops flock locks
when the file descriptor is closed). The lock file is empty and never removed (removing it would race with a
process about to lock it).
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cvg_pipeline.check.errors import CvgError, StoreBusyError
from cvg_pipeline.fr import erreur_systeme

DEFAULT_WAIT = 60.0
_state = {"wait": DEFAULT_WAIT}


def set_default_wait(seconds: float) -> None:
    """Set the wait used when a caller gives none (the CLI's `--attente`)."""
    _state["wait"] = max(0.0, float(seconds))


def default_wait() -> float:
    return _state["wait"]


def lock_path(store: Path) -> Path:
    """The lock file beside the store's real file: a store reached through a symbolic link (or `..`) and by
    its own path has one lock, so two processes never write it at once."""
    real = Path(os.path.realpath(store))
    return real.with_name(real.name + ".lock")


def busy_message(store: Path) -> str:
    return (
        f"La base « {store} » est utilisée par un autre traitement : réessayez quand il sera terminé "
        "(ou attendez plus longtemps avec --attente SECONDES)."
    )


def waiting_message(store: Path, wait: float) -> str:
    return f"La base « {store} » est utilisée par un autre traitement : attente ({wait:g} s au plus)…"


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@contextmanager
def store_lock(
    store: Path,
    *,
    exclusive: bool,
    wait: float | None = None,
    notify: Callable[[str], None] = _stderr,
) -> Iterator[None]:
    """Hold the store's lock (shared or exclusive) for the duration of the block.

    `wait`: seconds to wait for a busy store (None: the default, `--attente`); 0 fails at once.
    A reader that cannot create the lock file (read-only folder) proceeds without it: nobody can write
    there either, and DuckDB's own lock still refuses a concurrent writer.
    """
    wait = default_wait() if wait is None else max(0.0, wait)
    path = lock_path(store)
    old_umask = os.umask(0o077)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exclusive:
            raise CvgError(
                f"La base « {store} » ne peut pas être verrouillée ({erreur_systeme(exc)}) : vérifiez les droits "
                "d'écriture sur son dossier."
            ) from exc
        fd = -1
    finally:
        os.umask(old_umask)  # before the caller's block runs (a reader without lock file included)
    if fd < 0:
        yield
        return
    try:
        acquire(fd, store, exclusive=exclusive, wait=wait, notify=notify)
        yield
    finally:
        os.close(fd)  # releases the lock


def acquire(fd: int, store: Path, *, exclusive: bool, wait: float, notify: Callable[[str], None]) -> None:
    op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    if _try(fd, op):
        return
    if wait <= 0:
        raise StoreBusyError(busy_message(store))
    notify(waiting_message(store, wait))
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StoreBusyError(busy_message(store))
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, 0.5)
        if _try(fd, op):
            return


def _try(fd: int, op: int) -> bool:
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # e.g. a file system without flock: fall back to DuckDB's own lock
        if exc.errno in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP):
            return True
        raise
    return True
