"""Advisory locks that keep two runs from writing the same file at once.

The lock is taken on a sidecar, ``.NAME.lock`` in the file's folder, not on the file itself:
outputs are replaced by a rename, so the inode a lock sits on would change hands with each
run. The sidecar carries the holder's process id, for the message a second run prints, and
is removed at release. Removal is safe against a run that opened the sidecar just before it
went: a run that gets the lock checks that the path still names the file it locked, and
starts over otherwise.

The locks are ``flock`` locks (POSIX): the operating system drops them when a process dies,
however it dies, so a killed run never leaves a file locked. Where ``fcntl`` does not exist
(Windows), nothing is locked.
"""

from __future__ import annotations

import itertools
import os
import sys
from contextlib import suppress
from pathlib import Path

from bridge.errors import LockedError

# A run that gets the lock of a sidecar another run has just removed starts over; more than a
# few rounds means sidecars are being created and removed in a tight loop.
_ATTEMPTS = 5


def sidecar(path: Path) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside it."""
    return path.with_name(f".{path.name}.lock")


class FileLock:
    """An exclusive lock on ``path``, held until :meth:`release` (made by :func:`lock_file`)."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor = descriptor

    def release(self) -> None:
        """Remove the sidecar and drop the lock; idempotent, never raises."""
        if self._descriptor < 0:
            return
        descriptor, self._descriptor = self._descriptor, -1
        # Removed while still held, so no other run can lock the old file and think it won.
        with suppress(OSError):
            os.unlink(sidecar(self.path))
        os.close(descriptor)


def lock_file(path: Path, *, purpose: str = "write", wait: bool = False) -> FileLock:
    """Lock ``path`` for this process, or raise :class:`LockedError` at once if another run
    holds it; ``wait``: wait for the holder instead. ``purpose`` completes the message:
    "cannot {purpose} PATH".

    Operating-system failures (a missing or read-only folder) raise ``OSError``.
    """
    lock_path = sidecar(path)
    # A waiting run starts over once per holder that released (and removed) the sidecar it
    # waited on, so it has no bound on its rounds.
    for _ in itertools.count() if wait else range(_ATTEMPTS):
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(descriptor, wait=wait):
                holder = _holder(descriptor)
                raise LockedError(
                    f"cannot {purpose} {path}: another catalog-bridge run{holder} is writing "
                    f"it (lock file {lock_path}); wait for it to finish, or write elsewhere"
                )
            if _same_file(descriptor, lock_path):
                os.ftruncate(descriptor, 0)
                os.write(descriptor, f"{os.getpid()}\n".encode())
                return FileLock(path, descriptor)
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # the holder removed it meanwhile: lock the new one
    raise LockedError(f"cannot {purpose} {path}: its lock file {lock_path} keeps changing")


if sys.platform == "win32":  # pragma: no cover - no flock: nothing is locked

    def _try_lock(descriptor: int, *, wait: bool) -> bool:
        return True

else:
    import fcntl

    def _try_lock(descriptor: int, *, wait: bool) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(descriptor: int) -> str:
    """`` (process 1234)`` as the holder wrote it, if it did."""
    with suppress(OSError, ValueError):
        pid = int(os.pread(descriptor, 32, 0).decode("ascii").strip())
        return f" (process {pid})"
    return ""
