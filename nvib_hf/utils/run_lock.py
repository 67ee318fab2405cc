# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""One training run per output directory: an exclusive ``fcntl.flock`` on ``OUTPUT_DIR/.nvib-hf-train.lock``.

Two ``nvib-hf train`` runs writing checkpoints and a model into the same directory would interleave their files
(each rotates the other's checkpoints away, the last ``save_pretrained`` wins with the other's trainer state). The
lock makes the second run refuse at once, with one line naming the directory and the holding process id.

Why ``flock``: the kernel drops the lock when the holder's file descriptor closes, including when the process is
killed (SIGKILL, out of memory), so a crashed run never leaves a stale lock that blocks ``--resume``. The lock file is
removed on a clean release; a run that acquires the lock checks that the file it locked is still the one at the path
(another run may have removed it in between) and retries otherwise. Locks are per process and re-entrant within it
(``nvib-hf train`` takes it before its checks, ``run_training`` again for library callers). On a network file system
without ``flock`` support, or on a platform without ``fcntl``, locking is skipped with a warning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".nvib-hf-train.lock"
_held: dict[str, int] = {}  # resolved directory -> depth of re-entrant holds in this process


class OutputDirLocked(RuntimeError):
    """Another process holds the output directory's training lock."""


def _holder(lock_file: Path) -> str:
    """The PID recorded in the lock file (``unknown`` while the holder has not written it yet)."""
    try:
        text = lock_file.read_text().strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def _acquire(lock_file: Path, attempts: int = 5) -> int | None:
    """Open, lock (non-blocking) and stamp ``lock_file`` with our PID; the open descriptor, or None (no flock)."""
    for _ in range(attempts):
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        assert fcntl is not None, "lock_output_dir checks for fcntl before acquiring"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputDirLocked(
                f"{lock_file.parent} is in use by another nvib-hf train run (PID {_holder(lock_file)}, lock file "
                f"{lock_file.name}); wait for it to finish or choose another --output-dir."
            ) from None
        except OSError as error:  # e.g. ENOLCK on a file system without locks
            os.close(fd)
            warnings.warn(f"cannot lock {lock_file} ({error}); concurrent runs are not detected.", stacklevel=3)
            return None
        try:
            same = os.stat(lock_file).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # the previous holder removed the file after we opened it: lock the new one
    raise OutputDirLocked(f"could not lock {lock_file}: it keeps being replaced by another process.")


@contextmanager
def output_dir_lock(directory: str | os.PathLike, enabled: bool = True) -> Iterator[None]:
    """Hold the training lock of ``directory`` (created if missing) for the ``with`` block.

    Raises ``OutputDirLocked`` (one line: directory, holder PID) when another process holds it. ``enabled=False``
    (the non-main ranks of a distributed run, which share the main rank's directory) does nothing.
    """
    key = str(Path(directory).resolve())
    if not enabled:
        yield
        return
    if key in _held:  # re-entrant: this process already holds it
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    if fcntl is None:
        warnings.warn(
            "no fcntl on this platform: concurrent runs into one --output-dir are not detected.", stacklevel=3
        )
        yield
        return
    Path(key).mkdir(parents=True, exist_ok=True)
    lock_file = Path(key) / LOCK_NAME
    fd = _acquire(lock_file)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        if fd is not None:
            try:
                lock_file.unlink()  # while still locked: a waiting run then sees a new inode and retries
            except FileNotFoundError:
                pass
            os.close(fd)


def is_main_rank() -> bool:
    """True unless this is a non-zero rank of a torchrun / accelerate launch (``RANK`` in the environment)."""
    return os.environ.get("RANK", "0") == "0"


@contextmanager
def waiting_lock(lock_file: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` for the ``with`` block, waiting for another holder to finish.

    For work that several processes may want at once and only one should do (the sweep's shared reference LM:
    the first shard trains it, the others then load it from its cache). Without ``fcntl`` it does not lock.
    """
    path = Path(lock_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
