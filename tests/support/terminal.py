"""Run the real CLI with a pseudo-terminal as its standard output and/or error."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TerminalRun:
    """What a run printed: on the terminal, and on the streams that were not one."""

    code: int
    terminal: str  # everything written to the pseudo-terminal, control sequences included
    stdout: str  # empty when standard output was the terminal
    stderr: str  # empty when standard error was the terminal


def run_in_terminal(
    args: Sequence[str],
    *,
    environ: Mapping[str, str],
    cwd: Path,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
) -> TerminalRun:
    """``python -m bridge ARGS`` with a pseudo-terminal for the chosen streams, read to EOF."""
    main, secondary = pty.openpty()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", *args],
            stdin=subprocess.DEVNULL,
            stdout=secondary if stdout_tty else out,
            stderr=secondary if stderr_tty else err,
            env=dict(environ),
            cwd=cwd,
        )
        os.close(secondary)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        code = process.wait()
        out.seek(0)
        err.seek(0)
        return TerminalRun(
            code,
            b"".join(chunks).decode("utf-8", "replace"),
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
