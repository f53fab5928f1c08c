"""Parallel reading: `read_files(items, read_chunk)` reads items in chunks, in this process and ONE worker
process, and returns one result per item, in input order. It knows nothing of workbooks: `read_chunk` does
the reading (ingest/reading.py gives the one for reporting workbooks; tests pass their own).

The machine has 2 cores: both processes take the next chunk from a shared counter until none is left, so
neither waits for the other, this process needs no copy of its own chunks' results, and the worker's start
(a fork server importing the reader, ~0.6 s) runs on the other core while this process opens the store and
imports polars itself. Below `Parallelism.min_files_for_worker` items the worker would be ready about when
the reading is over: not started. A worker that dies (a parser abort) loses no item: what it had not
returned is read again one item per process, so a crash is reported on its own item only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

Item = TypeVar("Item")
Out = TypeVar("Out")
Item_contra = TypeVar("Item_contra", contravariant=True)


class ChunkReader(Protocol[Item_contra, Out]):
    """What `read_files` needs of a reader. It is pickled to the worker (a module-level class or function
    and picklable fields), and called in both processes."""

    def __call__(self, items: Sequence[Item_contra]) -> list[Out]:
        """Read a chunk: one result per item, in order; never raises."""
        ...

    def packed(self, items: Sequence[Item_contra]) -> Any:
        """In the worker: read a chunk and pack it for the trip back through the pipe (`unpack` undoes it)."""
        ...

    def unpack(self, packed: Any) -> list[Out]:
        ...

    def crashed(self, item: Item_contra) -> Out:
        """The result of an item whose reading killed its process."""
        ...


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _start_fork_server_for(preload: Sequence[str]) -> Any:
    return start_fork_server(preload)


@dataclass(frozen=True)
class Parallelism:
    """How the reading is shared. The defaults are the command's; tests make every chunk one item, start the
    worker for a few items, let it read everything (`main_reads=False`) or refuse to start it."""

    min_files_for_worker: int = 32
    min_chunk: int = 8  # a chunk costs a few tens of ms whatever its size: chunks are not tiny
    main_reads: bool = True  # False (tests only): the worker reads every chunk, this process only waits
    preload: tuple[str, ...] = ()  # modules the fork server imports once (the worker is a fork of it)
    fork_server: Callable[[Sequence[str]], Any] = field(default=_start_fork_server_for, compare=False)

    def start_fork_server(self) -> Any:
        """Start the fork server now (its imports overlap what this process does next); its context."""
        return self.fork_server(self.preload)


def chunks(total: int, min_chunk: int, readers: int = 2) -> list[range]:
    """Split `total` items into chunks of decreasing size ("guided" scheduling): each chunk is the items left
    divided by 2 × readers, at least `min_chunk`. Big chunks first (a pass over many files is cheaper per
    file), small ones last (the reader that finishes first waits at most a small chunk for the other)."""
    bounds = [0]
    while bounds[-1] < total:
        left = total - bounds[-1]
        bounds.append(bounds[-1] + min(left, max(min_chunk, left // (2 * readers))))
    return [range(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]


def read_files(
    items: Sequence[Item],
    read_chunk: ChunkReader[Item, Out],
    *,
    progress: Callable[[str, int, int], None] = _no_progress,
    parallelism: Parallelism = Parallelism(),
) -> list[Out]:
    """Read `items` with `read_chunk`, in chunks, shared with a worker process when there are enough; one
    result per item, in input order. `progress("lecture", done, total)` as chunks come back. A worker that
    dies loses no item: what it had not returned is read again one item per process (`_read_isolated`)."""
    total = len(items)
    if total == 0:
        return []
    ranges = chunks(total, parallelism.min_chunk)
    results: dict[int, Out] = {}
    progress("lecture", 0, total)  # the bar shows from the start, not once the first chunk is read

    def keep(chunk: range, parsed: list[Out]) -> None:
        for i, pf in zip(chunk, parsed, strict=True):
            results[i] = pf
        progress("lecture", len(results), total)

    parts = [[items[i] for i in chunk] for chunk in ranges]
    helper = (
        _Helper.start(parts, read_chunk, parallelism)
        if total >= parallelism.min_files_for_worker and len(ranges) > 1
        else None
    )
    if helper is None:
        for chunk, part in zip(ranges, parts, strict=True):
            keep(chunk, read_chunk(part))
    else:
        try:
            while parallelism.main_reads and (k := helper.take()) is not None:
                keep(ranges[k], read_chunk(parts[k]))
                for j, parsed in helper.returned():
                    keep(ranges[j], parsed)
            for j, parsed in helper.finish():
                keep(ranges[j], parsed)
            lost = helper.theirs()
            for k, chunk in enumerate(ranges):  # chunks nobody took (the worker died before): read here
                if k not in lost and any(i not in results for i in chunk):
                    keep(chunk, read_chunk(parts[k]))
        finally:
            helper.close()
    for i, item in enumerate(items):
        if i not in results:  # taken by a worker that died before returning it
            results[i] = _read_isolated(item, read_chunk)
            progress("lecture", len(results), total)
    return [results[i] for i in range(total)]


class _Helper(Generic[Item, Out]):
    """One worker process reading chunks beside this process. Both take chunk numbers from a shared counter
    and write who took each in a shared array (under the counter's lock); the worker sends each chunk back
    packed (`ChunkReader.packed`) through a pipe as soon as it is read, and a thread here receives them, so
    the worker never waits for this process. If the worker dies, the pipe ends (this process keeps no write
    end) and the chunks it had taken are known: nothing hangs and nothing is lost."""

    def __init__(
        self, parts: list[list[Item]], read_chunk: ChunkReader[Item, Out], parallelism: Parallelism
    ) -> None:
        import threading

        ctx = parallelism.start_fork_server()
        self.read_chunk = read_chunk
        self.count = len(parts)
        self.counter: Any = ctx.Value("i", 0)
        self.owner: Any = ctx.Array("b", self.count, lock=False)  # 1: taken by the worker
        self.reader, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_helper_main,
            args=(parts, read_chunk, self.counter, self.owner, writer, os.getpid()),
            daemon=True,
        )
        self.received: list[tuple[int, Any]] = []
        self.ended = False
        self.cond = threading.Condition()
        # start() waits until the fork server has imported the reader (~0.6 s): in a thread, while this
        # process goes on reading; the same thread then receives the worker's chunks.
        self.thread = threading.Thread(target=self._run, args=(writer,), daemon=True)
        self.thread.start()

    @classmethod
    def start(
        cls, parts: list[list[Item]], read_chunk: ChunkReader[Item, Out], parallelism: Parallelism
    ) -> _Helper[Item, Out] | None:
        """A helper, or None if no worker can be started here (then this process reads every chunk)."""
        try:
            return cls(parts, read_chunk, parallelism)
        except (OSError, ValueError, RuntimeError):
            return None

    def _run(self, writer: Any) -> None:
        try:
            try:
                self.process.start()
            finally:
                writer.close()  # the worker has its own copy: the pipe ends when the worker does
            while True:
                message = self.reader.recv()
                with self.cond:
                    self.received.append(message)
                    self.cond.notify_all()
        except Exception:  # EOF (the worker is done or dead), or no worker could be started
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def take(self) -> int | None:
        """The next chunk for this process, or None when every chunk has been taken."""
        return _claim(self.counter, self.owner, self.count, 0)

    def returned(self) -> list[tuple[int, list[Out]]]:
        """The chunks the worker has sent back so far (unpacked here), without waiting."""
        with self.cond:
            got, self.received = self.received, []
        return [(k, self.read_chunk.unpack(packed)) for k, packed in got]

    def theirs(self) -> set[int]:
        """The chunks the worker took."""
        with self.counter.get_lock():
            return {k for k in range(self.count) if self.owner[k] == 1}

    def finish(self) -> list[tuple[int, list[Out]]]:
        """Once every chunk is taken: wait for those the worker took, until it has sent them all or died."""
        out: list[tuple[int, list[Out]]] = []
        while True:
            with self.counter.get_lock():
                all_taken = int(self.counter.value) >= self.count
            theirs = self.theirs()
            out.extend(self.returned())
            with self.cond:
                if (all_taken and theirs <= {k for k, _ in out}) or (self.ended and not self.received):
                    return out
                self.cond.wait(timeout=0.5)

    def close(self) -> None:
        """End the worker if it is still there (it has nothing left to take); never waits for its start."""
        if self.process.pid is not None and self.process.is_alive():
            self.process.kill()
        with self.cond:
            ended = self.ended
        if ended:
            self.reader.close()


def start_fork_server(preload: Sequence[str]) -> Any:
    """Start the fork server the reading worker is forked from (at once, and once): it imports `preload`
    (~0.6 s for the workbook reader) on the other core while this process opens the store. Returns the
    multiprocessing context."""
    import multiprocessing
    from multiprocessing import forkserver

    from cvg_pipeline.files import private_mp_tempdir

    private_mp_tempdir()  # its socket in `cvg-mp-<pid>-…`, removed at exit or by the next run (not `pymp-…`)
    ctx = multiprocessing.get_context("forkserver")
    # Imported once by the fork server, before any thread exists there; the worker is a fork of it.
    ctx.set_forkserver_preload(list(preload))
    # One polars thread in the worker: this process already fills the other core.
    before = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        forkserver.ensure_running()  # the fork server (and the worker it forks) take the environment now
    finally:
        if before is None:
            del os.environ["POLARS_MAX_THREADS"]
        else:
            os.environ["POLARS_MAX_THREADS"] = before
    return ctx


def _claim(counter: Any, owner: Any, count: int, reader: int) -> int | None:
    """The next chunk number for `reader` (0: the command, 1: the worker), recorded in `owner`; None when all
    are taken."""
    with counter.get_lock():
        k = int(counter.value)
        if k >= count:
            return None
        owner[k] = reader
        counter.value = k + 1
        return k


def _helper_main(
    parts: list[list[Any]],
    read_chunk: ChunkReader[Any, Any],
    counter: Any,
    owner: Any,
    writer: Any,
    parent: int,
) -> None:
    """The worker process: take chunk numbers until none is left, send each chunk back as soon as it is read.

    Any failure ends the worker quietly (no traceback on the command's stderr): the chunk it held is read
    again, one item per process, by the command (`read_files`)."""
    exit_with_parent(parent)
    try:
        while (k := _claim(counter, owner, len(parts), 1)) is not None:
            writer.send((k, read_chunk.packed(parts[k])))
    except Exception:
        return
    finally:
        writer.close()


def exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the `cvg` process that started it is gone (e.g. SIGKILL),
    instead of lingering with its memory and the dead command's output pipes."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - the pid was reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _read_one(read_chunk: ChunkReader[Item, Out], item: Item) -> Out:
    return read_chunk([item])[0]


def _read_isolated(item: Item, read_chunk: ChunkReader[Item, Out]) -> Out:
    """Read one item in its own worker process, so that a parser crash only loses that item."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        try:
            return pool.submit(_read_one, read_chunk, item).result()
        except BrokenProcessPool:
            return read_chunk.crashed(item)
