"""Run a command on a real terminal (a pty) for the tests of what a user sees."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path


def run_in_pty(
    argv: list[str], *, env: dict[str, str] | None = None, columns: int | None = None, cwd: Path | None = None
) -> tuple[int, str]:
    """Run `argv` with stdout and stderr on a pty (`columns` wide if given); return the exit code and the
    text it showed (decoded as UTF-8 with replacement characters; line ends normalised)."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=slave, env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=120)
    os.close(master)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return code, text.replace("\r\n", "\n").replace("\r", "\n")
