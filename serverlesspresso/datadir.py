"""The data directory: private to its owner (directories 0700, files 0600) and held by one `up` at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path
from typing import IO, Any

LOCK_FILE = "up.lock"
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600

_TEXT_FLAGS = {
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
}


class DataDirectoryInUse(RuntimeError):
    """Another `serverlesspresso up` holds this data directory."""


def open_private(path: Path, mode: str = "a") -> IO[Any]:
    """Open a file for writing, created 0600, and made 0600 if an older run left it readable by others."""
    fd = os.open(path, _TEXT_FLAGS[mode] | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def make_private(root: Path) -> list[Path]:
    """Directories 0700 and files 0600 under `root` (itself included); returns what had to change.

    The data directory holds task tokens, QR codes, signing keys and the broker's password, so nothing in it is
    for other local users, including what a run from before this rule left behind.
    """
    changed = []
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:  # a file renamed away meanwhile (a journal compacting)
            continue
        if stat.S_ISLNK(info.st_mode):
            continue  # chmod would follow it out of the directory
        wanted = DIRECTORY_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
        if stat.S_IMODE(info.st_mode) != wanted:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path, wanted)
                changed.append(path)
    return changed


def ensure_private_directory(path: Path) -> None:
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIRECTORY_MODE)


class DataDirectoryLock:
    """An exclusive `flock` on `<data dir>/up.lock`, held for the life of the process.

    The kernel drops it when the process ends, however it ends (`kill -9` included), so a stale lock cannot
    keep the next `up` out. The file holds the holder's PID, to name it when a second `up` is refused.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "a process that is still starting"
            raise DataDirectoryInUse(
                f"the data directory {self.data_dir} is in use by another 'serverlesspresso up' ({who}); "
                "stop that one first, or give this one another --data-dir"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.fchmod(fd, FILE_MODE)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    @staticmethod
    def holder(data_dir: Path) -> int | None:
        """The PID written by whoever holds (or last held) the lock."""
        try:
            fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return _read_pid(fd)
        finally:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
