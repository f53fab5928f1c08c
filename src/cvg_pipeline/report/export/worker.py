"""The reports' secret (`statuses.secret_cells`) of every report of the export, shared with a worker process
on the other core."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.report.export.statuses import ReportCells, secret_cells
from cvg_pipeline.report.export.table import leaves

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators
    from cvg_pipeline.schema.load import Schema

# -- the reports' secret, on both cores --------------------------------------------------------------------
WORKER_MIN_REPORTS = 12  # fewer reports take less than starting a worker (~0.5 s)


def all_report_cells(inds: Sequence[Indicators], schema: Schema, seuil: int, helper: Worker | None,
                      progress: Callable[[int, int], None] | None) -> list[ReportCells]:
    """`secret_cells` of every report: this process and the worker take the next report in turn from a
    shared counter; what the worker took and did not send back (it died) is done here. The reports with the
    most counts under the seuil (the longest secret) are taken first, so that neither process is left alone
    with a long one at the end."""
    small = [sum(1 for leaf in leaves(ind, ind["perimetre"]["programme"])
                 if leaf.kind == "count" and isinstance(leaf.value, int) and 0 < leaf.value < seuil) for ind in inds]
    order = sorted(range(len(inds)), key=lambda k: -small[k])
    done_in_order = _report_cells_in_turn([inds[k] for k in order], schema, seuil, helper, progress)
    out: list[ReportCells | None] = [None] * len(inds)
    for j, k in enumerate(order):
        out[k] = done_in_order[j]
    return [cells for cells in out if cells is not None]


def _report_cells_in_turn(inds: Sequence[Indicators], schema: Schema, seuil: int, helper: Worker | None,
                          progress: Callable[[int, int], None] | None) -> list[ReportCells]:
    total = len(inds)
    done: dict[int, ReportCells] = {}

    def tell() -> None:
        if progress is not None:
            progress(len(done), total)

    if helper is not None:
        helper.send(list(inds))
        claim = helper.claim
    else:
        numbers = iter(range(total))

        def claim(total: int) -> int | None:
            return next(numbers, None)

    while (k := claim(total)) is not None:
        done[k] = secret_cells(inds[k], schema, seuil)
        if helper is not None:
            done.update(helper.returned())
        tell()
    if helper is not None:
        for k, cells in helper.finish():
            done[k] = cells
            tell()
    for k in range(total):
        if k not in done:  # taken by a worker that ended before sending it back
            done[k] = secret_cells(inds[k], schema, seuil)
            tell()
    return [done[k] for k in range(total)]


def _claim(counter: Any, taken: Any, total: int) -> int | None:
    """The next report number from the counter shared with the worker (`taken`: how many the worker took,
    counted under the same lock; None for this process)."""
    with counter.get_lock():
        k = int(counter.value)
        if k >= total:
            return None
        counter.value = k + 1
        if taken is not None:
            taken.value += 1
        return k


class Worker:
    """One process beside this one computing reports' secret (`secret_cells`). Forked from a fork server
    that imports the report and HiGHS while this process computes the indicators; a thread here starts it,
    sends it the indicators (`send`), then receives its results. Both processes take report numbers from a
    shared counter; the worker counts those it took under the same lock, so once every number is taken this
    process knows how many results to wait for. If the worker dies, its pipe ends and the reports it took
    are done here. Ctrl-C is this process's: the worker ignores SIGINT and is ended by `close`."""

    def __init__(self, schema_path: Path, seuil: int) -> None:
        import multiprocessing
        import threading
        from multiprocessing import forkserver

        from cvg_pipeline.files import private_mp_tempdir

        private_mp_tempdir()  # its socket in `cvg-mp-<pid>-…`, removed at exit or by the next run
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cvg_pipeline.report.export.worker", "cvg_pipeline.report.build", "cvg_pipeline.report.secret.suppress",
                                    "highspy", "numpy"])
        forkserver.ensure_running()
        self.counter: Any = ctx.Value("i", 0)
        self.taken: Any = ctx.Value("i", 0, lock=False)  # under the counter's lock
        self.reader, writer = ctx.Pipe(duplex=False)
        tasks, self.to_worker = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_main, args=(tasks, writer, self.counter, self.taken, schema_path,
                                                              seuil, os.getpid()), daemon=True)
        self.inds: list[Indicators] | None = None
        self.received: list[tuple[int, ReportCells]] = []
        self.count = 0  # results received
        self.ended = False
        self.started = threading.Event()  # set once the worker's start has returned (or failed)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(tasks, writer), daemon=True)
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

    def _run(self, tasks: Any, writer: Any) -> None:
        try:
            try:
                self.process.start()  # waits for the fork server's imports: in this thread
            finally:
                writer.close()  # the worker holds its own copies: the pipes end when it does
                tasks.close()
                self.started.set()
            with self.cond:
                while self.inds is None:
                    self.cond.wait()
                inds = self.inds
            self.to_worker.send(inds)
            while True:
                message = self.reader.recv()
                with self.cond:
                    self.received.append(message)
                    self.count += 1
                    self.cond.notify_all()
        except Exception:  # EOF (the worker is done or dead), or it could not be started
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def send(self, inds: list[Indicators]) -> None:
        with self.cond:
            self.inds = inds
            self.cond.notify_all()

    def claim(self, total: int) -> int | None:
        return _claim(self.counter, None, total)

    def returned(self) -> list[tuple[int, ReportCells]]:
        with self.cond:
            got, self.received = self.received, []
        return got

    def finish(self) -> Iterator[tuple[int, ReportCells]]:
        """Once every report is taken: the worker's results, until it has sent all it took or ended."""
        while True:
            yield from self.returned()
            with self.counter.get_lock():
                taken = int(self.taken.value)
            with self.cond:
                if (self.count >= taken or self.ended) and not self.received:
                    return
                if not self.received:
                    self.cond.wait(timeout=0.5)

    def close(self) -> None:
        """End the worker if it is still there. Waits for a start under way (bounded): a worker left to start
        after this process is gone would fail with a traceback on the command's stderr."""
        self.started.wait(timeout=10)
        if self.process.pid is not None and self.process.is_alive():
            self.process.kill()
        with self.cond:
            if self.inds is None:  # the thread still waits for the indicators: let it go
                self.inds = []
                self.cond.notify_all()
            ended = self.ended
        if ended:
            self.reader.close()
            self.to_worker.close()


def _worker_main(tasks: Any, results: Any, counter: Any, taken: Any, schema_path: Path, seuil: int,
                 parent: int) -> None:
    """The worker process (see `Worker`); any failure ends it quietly (the command does those reports)."""
    import signal

    from cvg_pipeline.ingest.parallel import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's: it ends this worker
    exit_with_parent(parent)
    try:
        from cvg_pipeline.schema.load import load_schema

        inds = tasks.recv()
        schema = load_schema(schema_path)
        while (k := _claim(counter, taken, len(inds))) is not None:
            results.send((k, secret_cells(inds[k], schema, seuil)))
    except Exception:
        return
    finally:
        results.close()
