"""Safe file primitives for run folders (evaluation and training): an exclusive folder lock, opening
without following symlinks, appending only to files this process verified, and atomic writes.

The rules they enforce (COMMON.md, DESIGN.md §6): never write through a symlink, never write into a file
the run did not create, JSON by temp file + rename, JSONL by append + flush. Every refusal raises
:class:`UnsafeFileError` with a one-line message; plain ``OSError`` (full disk, read-only mount,
permission) propagates so the caller can say which step failed (:func:`describe_os_error`).

Linux semantics relied on (man 2 open, man 2 flock):

* ``O_NOFOLLOW``: ``open`` fails with ``ELOOP`` when the last path component is a symlink.
* ``O_EXCL | O_CREAT``: fails with ``EEXIST`` when the name exists, symlink or not.
* ``flock(LOCK_EX | LOCK_NB)``: the lock belongs to the open file description and disappears when the
  last descriptor of it is closed, so a process killed with SIGKILL never leaves a stale lock. Children
  forked while the lock is held share the description (they keep it held while they live).
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

LOCK_NAME = ".justrl.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class UnsafeFileError(Exception):
    """A file or folder cannot be used safely (symlink, not a regular file, hard-linked, foreign, locked)."""


class FolderLocked(UnsafeFileError):
    """Another live process holds the folder's lock; ``holder`` is what it wrote there (may be empty)."""

    def __init__(self, message: str, holder: dict) -> None:
        super().__init__(message)
        self.holder = holder


_HINTS = {
    errno.ENOSPC: "free some space or use another --output-dir",
    errno.EDQUOT: "disk quota exceeded: free some space or use another --output-dir",
    errno.EROFS: "the file system is read-only: use another --output-dir",
    errno.EACCES: "permission denied: use a folder you can write to",
    errno.EPERM: "permission denied: use a folder you can write to",
    errno.ENOTDIR: "a path component is a file, not a folder: use another --output-dir",
    errno.EEXIST: "a file of that name is in the way: use another --output-dir",
}


def describe_os_error(exc: OSError, action: str, path: str | Path | None = None) -> str:
    """One line: ``cannot <action> <path>: <reason>; <what to do>``."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or -1, "check the path and try again")
    return f"cannot {action}{f' {where}' if where else ''}: {reason}; {hint}"


@dataclass(frozen=True)
class FileId:
    """Identity of an opened regular file (device, inode) and its size when it was checked."""

    dev: int
    ino: int
    size: int


def _check_regular(fd: int, path: Path) -> os.stat_result:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(f"{path} is not a regular file; remove it or use another --output-dir")
    if st.st_nlink > 1:
        raise UnsafeFileError(f"{path} has {st.st_nlink} hard links (it is also another file); refusing to touch it: "
                              f"remove it or use another --output-dir")
    return st


def _open_checked(path: Path, flags: int, mode: int = 0o644) -> tuple[int, os.stat_result]:
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # Linux: O_NOFOLLOW on a symlink
            raise UnsafeFileError(f"{path} is a symbolic link; refusing to read or write through it: remove it or "
                                  f"use another --output-dir") from None
        raise
    try:
        return fd, _check_regular(fd, path)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path) -> tuple[bytes, FileId]:
    """The bytes of ``path`` (never through a symlink; FIFOs, devices and hard-linked files refused)."""
    path = Path(path)
    fd, st = _open_checked(path, os.O_RDONLY | _NONBLOCK)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 22)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    return data, FileId(st.st_dev, st.st_ino, len(data))


class AppendFile:
    """An append-only handle on a regular file; each :meth:`write` reaches the OS before it returns (a
    killed process keeps it). A failed write (e.g. ENOSPC) is rolled back to the last complete line."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.size = size

    @classmethod
    def create(cls, path: str | Path) -> AppendFile:
        """A new file (fails with ``EEXIST`` if the name exists, including a dangling symlink)."""
        path = Path(path)
        fd, _ = _open_checked(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
        return cls(path, fd, 0)

    @classmethod
    def reopen(cls, path: str | Path, expect: FileId, *, truncate_to: int | None = None) -> AppendFile:
        """Reopen a file read earlier with :func:`read_regular`, only if it is still that file with that size,
        and optionally cut it back to ``truncate_to`` bytes (drop a torn last line)."""
        path = Path(path)
        fd, st = _open_checked(path, os.O_WRONLY | os.O_APPEND)
        try:
            if (st.st_dev, st.st_ino, st.st_size) != (expect.dev, expect.ino, expect.size):
                raise UnsafeFileError(f"{path} changed while it was being checked; is another process writing "
                                      f"there? Rerun when it has finished")
            size = st.st_size
            if truncate_to is not None and truncate_to != size:
                os.ftruncate(fd, truncate_to)
                size = truncate_to
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, size)

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            try:  # leave no partial line behind
                os.ftruncate(self._fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(data)

    def close(self, *, fsync: bool = True) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


def open_new(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", perms: int = 0o644):
    """A file object on a file created now (``O_EXCL``: an existing name, symlink or not, raises
    ``FileExistsError``); ``mode`` is ``"w"``, ``"wb"``, ``"a"`` or ``"ab"``."""
    if mode not in ("w", "wb", "a", "ab"):
        raise ValueError(f"open_new mode must be w, wb, a or ab, not {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | (os.O_APPEND if "a" in mode else 0)
    fd = os.open(path, flags, perms)
    return os.fdopen(fd, mode, encoding=None if "b" in mode else encoding)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a new temporary file in the same folder, then rename it over.

    The old file's contents are never written into (the rename replaces the name; a symlink at ``path`` is
    replaced, its target untouched). On any error the temporary file is removed and ``path`` is unchanged.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.\d+\.tmp$")


def remove_stale_temporaries(directory: str | Path) -> list[str]:
    """Delete temporary files :func:`atomic_write_bytes` left in ``directory`` when its process was killed
    mid-write (``.<name>.<pid>.<ns>.tmp``), except those of a live process. Call it holding the folder's
    :class:`DirLock`. Only regular files are removed (a symlink of that name is left alone). Returns names."""
    removed = []
    directory = Path(directory)
    for path in directory.glob(".*.tmp"):
        match = _TEMP_NAME.match(path.name)
        if not match or path.is_symlink() or not path.is_file():
            continue
        pid = int(match["pid"])
        if pid != os.getpid() and _alive(pid):
            continue
        try:
            path.unlink()
            removed.append(path.name)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_text(path: str | Path, text: str, **kwargs) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), **kwargs)


def atomic_write_json(path: str | Path, data, **kwargs) -> None:
    """``data`` as indented JSON (UTF-8, trailing newline), written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", **kwargs)


def ensure_dir(path: str | Path) -> Path:
    """``path`` as an existing folder (created with parents); a file in the way raises UnsafeFileError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UnsafeFileError(f"{path} exists and is not a folder; use another --output-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UnsafeFileError(f"{path} (or a folder above it) is a file, not a folder; use another --output-dir") from None
    return path


@dataclass
class DirLock:
    """An exclusive ``flock`` on ``DIR/.justrl.lock`` held for a run's lifetime; a second holder is refused.

    The lock file records who holds it (pid, host, command, start time) so the refusal can name the holder.
    It is never deleted (deleting a locked file lets a third process lock a new file of the same name);
    a stale file left by a killed process holds no lock and is simply taken over.
    """

    directory: Path
    command: list[str] | None = None
    name: str = LOCK_NAME
    _fd: int | None = field(default=None, init=False, repr=False)

    @property
    def path(self) -> Path:
        return Path(self.directory) / self.name

    def acquire(self) -> DirLock:
        import fcntl

        path = self.path
        fd, _ = _open_checked(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}" if holder
                   else "another process")
            cmd = holder.get("command")
            since = holder.get("since")
            pid = holder.get("pid")
            orphan = (isinstance(pid, int) and holder.get("host") == socket.gethostname() and pid != os.getpid()
                      and not _alive(pid))
            advice = (f"; pid {pid} has exited but a process it started still holds the lock: end that process "
                      f"(e.g. fuser -v {path}) or use another --output-dir" if orphan
                      else "; wait for it to finish or use another --output-dir")
            raise FolderLocked(f"{self.directory} is in use by {who}"
                               + (f" ({' '.join(map(str, cmd))})" if cmd else "")
                               + (f" since {since}" if since else "") + advice, holder) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                    "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError:
            pass  # the lock itself is held; the note naming the holder is a courtesy (e.g. disk full)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock

    @classmethod
    def holder_of(cls, directory: str | Path, name: str = LOCK_NAME) -> dict | None:
        """Who holds ``directory``'s lock right now (the holder's note, possibly ``{}``), or None when no live
        process does. Read-only: opens an existing lock file for reading and tries a shared lock."""
        import fcntl

        path = Path(directory) / name
        try:
            fd, _ = _open_checked(path, os.O_RDONLY | _NONBLOCK)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        raw = os.pread(fd, 65536, 0)
        data = json.loads(raw.decode("utf-8", "replace") or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


__all__ = ["AppendFile", "DirLock", "FileId", "FolderLocked", "LOCK_NAME", "UnsafeFileError", "atomic_write_bytes",
           "atomic_write_json", "atomic_write_text", "describe_os_error", "ensure_dir", "open_new", "read_regular",
           "remove_stale_temporaries"]
