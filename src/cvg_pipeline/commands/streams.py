"""stdout and stderr that never stop a run: any terminal encoding, closed or broken streams.

- A character the terminal cannot show (a Latin-9 or ASCII terminal: `LANG=fr_FR.ISO-8859-15`, `LC_ALL=C`)
  is written as « ? » instead of raising UnicodeEncodeError after the files were stored.
- A stream that is closed (`cvg ingest … >&-`), full (`> /dev/full`) or whose reader has gone (`| head -1`)
  makes the writes to it vanish: the run does its work and reports through its exit code. A broken pipe after
  storing is not an error of the run (exit 0, like other command-line tools).

`install()` runs once at the start of `cvg` (cli.main), before anything is printed.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO

# Write errors that mean « nobody can read this stream any more », not a fault of the run.
_GONE = {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EINVAL}


class SafeStream:
    """A text stream whose writes never raise for a gone reader; everything else is the real stream's."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if self.broken or self._stream is None:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            self._gone()
            return len(text)
        except ValueError:  # the stream was closed under us
            self._gone()
            return len(text)

    def flush(self) -> None:
        if self.broken or self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            self._gone()
        except ValueError:
            self._gone()

    def isatty(self) -> bool:
        if self.broken or self._stream is None:
            return False
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def writable(self) -> bool:
        return True

    def _gone(self) -> None:
        """Nothing more will be shown here: point the descriptor at /dev/null, so that the interpreter's own
        flush at exit (and any library writing to the descriptor) does not complain either."""
        self.broken = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except OSError:
            pass

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return "replace"

    def __getattr__(self, name: str) -> Any:
        # No `buffer`: click would write bytes to it behind our back (in its own encoding, unguarded).
        if self._stream is None or name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


def _with_replacement(stream: TextIO | None) -> TextIO | None:
    """The same stream, writing « ? » for what its encoding cannot show."""
    if stream is None:
        return None
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):  # a closed stream
            return None
    return stream


def _drop_unraisable(unraisable: Any) -> None:
    """An exception Python cannot raise (a `__del__` closing a file on a full disk): the failure itself has
    already been reported in French by the code that met it; the interpreter's English trace is not shown."""


def silence_libraries() -> None:
    """Only French reaches the user: the libraries' own warnings (openpyxl, polars…) and log records
    (fastexcel's « Could not determine dtype… ») and Python's « Exception ignored in … » traces are not
    printed. What matters in them reaches the user as cvg's own French messages."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger().addHandler(logging.NullHandler())  # no « lastResort » handler printing to stderr
    sys.unraisablehook = _drop_unraisable


def install() -> None:
    """Wrap sys.stdout and sys.stderr (once), and keep the libraries' English off them."""
    silence_libraries()
    if not isinstance(sys.stdout, SafeStream):
        sys.stdout = SafeStream(_with_replacement(sys.stdout))
    if not isinstance(sys.stderr, SafeStream):
        sys.stderr = SafeStream(_with_replacement(sys.stderr))
