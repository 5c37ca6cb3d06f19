"""Advisory locks on output files: one run at a time, a clear refusal, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.errors import EXIT_LOCKED, LockedError, exit_code_for
from bridge.sync.lock import FileLock, lock_file, sidecar

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock locks")

# Another process holding the lock on argv[1] until its standard input closes.
HOLDER = """\
import sys
from pathlib import Path
from bridge.sync.lock import lock_file
held = lock_file(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
held.release()
"""


def _holding(path: Path) -> subprocess.Popen[str]:
    """Another process that holds the lock on ``path`` until its standard input closes."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_sidecar_is_beside_the_file(tmp_path: Path) -> None:
    assert sidecar(tmp_path / "entities.json") == tmp_path / ".entities.json.lock"


def test_a_lock_held_by_another_process_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "entities.json"
    holder = _holding(path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(LockedError) as refused:
            lock_file(path)
        assert str(refused.value) == (
            f"cannot write {path}: another catalog-bridge run (process {holder.pid}) is writing "
            f"it (lock file {tmp_path / '.entities.json.lock'}); wait for it to finish, or "
            "write elsewhere"
        )
        assert exit_code_for(refused.value) == EXIT_LOCKED == 75
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
    assert list(tmp_path.iterdir()) == []  # released: the sidecar went with the lock
    lock_file(path).release()


def test_a_killed_holder_leaves_a_sidecar_that_does_not_lock(tmp_path: Path) -> None:
    path = tmp_path / "entities.json"
    holder = _holding(path)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.communicate(timeout=30)
    assert sidecar(path).exists()  # the holder had no chance to remove it
    held = lock_file(path)  # the operating system dropped the lock with the process
    held.release()
    held.release()  # idempotent
    assert not sidecar(path).exists()


def test_within_one_process_a_second_lock_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    held = lock_file(path, purpose="update")
    with pytest.raises(LockedError, match=r"^cannot update .*state\.json: another"):
        lock_file(path, purpose="update")
    held.release()
    lock_file(path, purpose="update").release()


def test_a_waiting_lock_is_taken_once_the_holder_releases(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    held = lock_file(path)
    taken: list[FileLock] = []
    waiter = threading.Thread(target=lambda: taken.append(lock_file(path, wait=True)))
    waiter.start()
    waiter.join(timeout=0.2)
    assert taken == []  # still waiting: the lock is held
    held.release()  # removes the sidecar the waiter waits on: it starts over on a new one
    waiter.join(timeout=30)
    assert len(taken) == 1
    assert sidecar(path).exists()
    with pytest.raises(LockedError):
        lock_file(path)
    taken[0].release()
    assert not sidecar(path).exists()
