"""When storing stops: a failure to write the store (full disk…) said in French (`write_failure`,
`StoreFailed`), and the interrupts (Ctrl-C, SIGTERM) remembered however they surface (`watch_interrupts`).
Neither is ever retried."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class StoreFailed(Exception):
    """Storing stopped: the store could not be written (`cause`, in French). What was committed before is in
    `SnapshotWriter.stored` (store/snapshots.py)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# What the system says when a file cannot be written (DuckDB quotes it: « Could not write file "…": … »).
_WRITE_ERRORS = {
    "No space left on device": "disque plein",
    "Disk quota exceeded": "quota disque dépassé",
    "File too large": "disque plein ou taille maximale d'un fichier atteinte",
}


def write_failure(exc: BaseException) -> str | None:
    """A failure to write the store, in French, with the file and the free space of its disk; None if `exc`
    is another kind of error. The exceptions it was raised from count (a ROLLBACK that fails after a failed
    COMMIT says « no transaction is active », not why the COMMIT failed)."""
    import re
    import shutil

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    exc = next((e for e in chain if _is_write_error(e)), exc)
    text = str(exc)
    why = next((fr for en, fr in _WRITE_ERRORS.items() if en in text), None)
    if why is None:
        if not _is_write_error(exc):
            return None
        why = "écriture impossible sur le disque"
    where = re.search(r'file "([^"]+)"', text)
    if where is None:
        return why
    path = Path(where.group(1))
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return f"{why} en écrivant « {path} »"
    from cvg_pipeline.fr import entier

    return f"{why} en écrivant « {path} » ({entier(free // 1_000_000)} Mo libres sur ce disque)"


def _is_write_error(exc: BaseException) -> bool:
    import duckdb

    text = str(exc)
    return (
        any(en in text for en in _WRITE_ERRORS)
        or isinstance(exc, duckdb.IOException | duckdb.FatalException)
        or "Could not write" in text
    )


@contextlib.contextmanager
def watch_interrupts() -> Iterator[list[bool]]:
    """While storing, remember that SIGINT (or SIGTERM, handled like it) came (`seen[0]`): DuckDB turns the
    KeyboardInterrupt of its handler into « Query interrupted » (a RuntimeError) when it arrives during a
    statement, and an interrupt is never a reason to retry."""
    import signal
    import threading

    seen = [False]
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def watching(before: Callable[[int, Any], Any]) -> Callable[[int, Any], None]:
        def handler(signum: int, frame: Any) -> None:
            seen[0] = True
            before(signum, frame)

        return handler

    for sig, before in previous.items():
        if callable(before):  # a Python handler (Ctrl-C's KeyboardInterrupt, files.handle_interrupts)
            signal.signal(sig, watching(before))
    try:
        yield seen
    finally:
        for sig, before in previous.items():
            if callable(before):
                signal.signal(sig, before)
