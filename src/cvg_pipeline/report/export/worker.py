"""The reports' secret (`statuses.secret_cells`) of every report of the export, shared with a worker process
on the other core.

`Reports` is the queue of the reports to protect: `build_export` adds each (year, programme)'s reports as soon
as their indicators are computed (`add`), so that the worker starts on them while this process computes the
next ones; then this process takes its share (`finish`). The heaviest reports (the most counts under the
seuil: the longest secret) are handed out first, so that neither process is left alone with a long one at
the end.
"""

from __future__ import annotations

import heapq
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.report.export.statuses import ReportCells, secret_cells
from cvg_pipeline.report.export.table import leaves

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators
    from cvg_pipeline.schema.load import Schema

WORKER_MIN_REPORTS = 12  # fewer reports take less than starting a worker (~0.5 s)


class Reports:
    """The reports to protect, each under a key of the caller's; `helper` (a `Worker`, or None: everything
    here) takes them one at a time through `take` while this process computes the indicators, then this
    process takes the rest (`finish`). A report the worker took and did not send back (it died) is done
    here."""

    def __init__(self, schema: Schema, seuil: int, helper: Worker | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.schema, self.seuil, self.helper, self.progress = schema, seuil, helper, progress
        self.cond = threading.Condition()
        self.inds: dict[Hashable, Indicators] = {}
        self.queue: list[tuple[int, int, Hashable]] = []  # a heap of (−weight, rank, key): the heaviest first
        self.done: dict[Hashable, ReportCells] = {}
        self.lent: set[Hashable] = set()  # taken by the worker, not yet sent back
        self.closed = False  # every report has been added (or the export has stopped)
        if helper is not None:
            helper.serve(self)

    def add(self, key: Hashable, ind: Indicators) -> None:
        weight = sum(1 for leaf in leaves(ind, ind["perimetre"]["programme"])
                     if leaf.kind == "count" and isinstance(leaf.value, int) and 0 < leaf.value < self.seuil)
        with self.cond:
            self.inds[key] = ind
            heapq.heappush(self.queue, (-weight, len(self.inds), key))
            self.cond.notify_all()

    def take(self) -> tuple[Hashable, Indicators] | None:
        """For the worker: the heaviest report not yet taken, waiting while the queue is empty and reports may
        still come; None once there is nothing left."""
        with self.cond:
            while not self.queue and not self.closed:
                self.cond.wait()
            if not self.queue:
                return None
            key = heapq.heappop(self.queue)[2]
            self.lent.add(key)
            return key, self.inds[key]

    def returned(self, key: Hashable, cells: ReportCells) -> None:
        with self.cond:
            self.lent.discard(key)
            self.done[key] = cells
            self.cond.notify_all()

    def worker_ended(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def close(self) -> None:
        """No report will be added: the worker's `take` returns None once the queue is empty."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(len(self.done), len(self.inds))

    def finish(self) -> dict[Hashable, ReportCells]:
        """Every report's cells: this process takes the heaviest left until none is, then waits for those the
        worker has (doing here those of a worker that ended)."""
        self.close()
        while True:
            with self.cond:
                if self.queue:
                    key: Hashable | None = heapq.heappop(self.queue)[2]
                elif self.lent and (self.helper is None or self.helper.ended):
                    key = self.lent.pop()  # taken by a worker that ended before sending it back
                else:
                    key = None
                    if self.lent:  # the worker's last reports
                        self.cond.wait(timeout=0.5)
                if key is None and not self.lent:
                    break
            if key is not None:
                cells = secret_cells(self.inds[key], self.schema, self.seuil)
                with self.cond:
                    self.done[key] = cells
            self._tell()
        return dict(self.done)


class Worker:
    """One process beside this one computing reports' secret (`secret_cells`). Forked from a fork server
    that imports the report and HiGHS while this process opens the store; a thread here starts it, then
    hands it one report of `Reports` at a time, each when it sends back the last one's cells. If the worker
    dies, its pipe ends and the report it had is done here. Ctrl-C is this process's: the worker ignores
    SIGINT and is ended by `close`."""

    def __init__(self, schema_path: Path, seuil: int) -> None:
        import multiprocessing
        from multiprocessing import forkserver

        from cvg_pipeline.files import private_mp_tempdir

        private_mp_tempdir()  # its socket in `cvg-mp-<pid>-…`, removed at exit or by the next run
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cvg_pipeline.report.export.worker", "cvg_pipeline.report.build",
                                    "cvg_pipeline.report.secret.suppress", "highspy", "numpy"])
        forkserver.ensure_running()
        self.conn, theirs = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(theirs, schema_path, seuil, os.getpid()), daemon=True)
        self.reports: Reports | None = None
        self.stopping = False  # `close` was called
        self.ended = False
        self.started = threading.Event()  # set once the worker's start has returned (or failed)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(theirs,), daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, schema_path: Path, seuil: int) -> Worker | None:
        """A worker, or None if none can be started here (then this process does every report)."""
        if (os.cpu_count() or 1) < 2:
            return None
        try:
            return cls(schema_path, seuil)
        except (OSError, ValueError, RuntimeError):
            return None

    def serve(self, reports: Reports) -> None:
        with self.cond:
            self.reports = reports
            self.cond.notify_all()

    def _run(self, theirs: Any) -> None:
        reports: Reports | None = None
        try:
            try:
                self.process.start()  # waits for the fork server's imports: in this thread
            finally:
                theirs.close()  # the worker holds its own copy: the pipe ends when it does
                self.started.set()
            with self.cond:
                while self.reports is None and not self.stopping:
                    self.cond.wait()
                reports = self.reports
            if reports is None:
                return
            message = self.conn.recv()  # None: ready
            while True:
                if message is not None:
                    reports.returned(*message)
                task = reports.take()
                self.conn.send(task)
                if task is None:
                    break
                message = self.conn.recv()
        except Exception:  # EOF (the worker is dead), or it could not be started
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()
            if reports is not None:
                reports.worker_ended()

    def close(self) -> None:
        """End the worker if it is still there. Waits for a start under way (bounded): a worker left to start
        after this process is gone would fail with a traceback on the command's stderr."""
        self.started.wait(timeout=10)
        if self.process.pid is not None and self.process.is_alive():
            self.process.kill()
        with self.cond:
            self.stopping = True  # the thread may still wait for its queue: let it go
            reports = self.reports
            self.cond.notify_all()
        if reports is not None:
            reports.close()
        self.thread.join(timeout=5)
        if self.ended:
            self.conn.close()


def _worker_main(conn: Any, schema_path: Path, seuil: int, parent: int) -> None:
    """The worker process (see `Worker`); any failure ends it quietly (the command does those reports)."""
    import signal

    from cvg_pipeline.ingest.parallel import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's: it ends this worker
    exit_with_parent(parent)
    try:
        from cvg_pipeline.schema.load import load_schema

        schema = load_schema(schema_path)
        conn.send(None)
        while (task := conn.recv()) is not None:
            key, ind = task
            conn.send((key, secret_cells(ind, schema, seuil)))
    except Exception:
        return
    finally:
        conn.close()
