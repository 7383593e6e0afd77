"""justrl.evaluate.files, the safe-file primitives run folders use (evaluation and training)."""

from __future__ import annotations

import errno
import os

import pytest

from justrl.evaluate import files
from justrl.evaluate.files import AppendFile, DirLock, FolderLocked, UnsafeFileError


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("precious")
    return path


def test_atomic_write_replaces_a_planted_symlink_without_touching_its_target(tmp_path, victim):
    (tmp_path / "run.json").symlink_to(victim)
    files.atomic_write_json(tmp_path / "run.json", {"a": 1})
    assert victim.read_text() == "precious"
    assert not (tmp_path / "run.json").is_symlink() and (tmp_path / "run.json").read_text() == '{\n  "a": 1\n}\n'
    assert oct((tmp_path / "run.json").stat().st_mode & 0o777) == "0o644"


def test_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text("old")
    real = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "write", full)
    with pytest.raises(OSError, match="No space"):
        files.atomic_write_text(target, "new")
    monkeypatch.setattr(files.os, "write", real)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "directory"])
def test_read_regular_refuses_what_is_not_a_plain_file(tmp_path, victim, kind):
    path = tmp_path / "x.jsonl"
    {"symlink": lambda: path.symlink_to(victim), "hardlink": lambda: os.link(victim, path),
     "fifo": lambda: os.mkfifo(path), "directory": path.mkdir}[kind]()
    with pytest.raises(UnsafeFileError, match="symbolic link|hard links|not a regular file"):
        files.read_regular(path)


def test_append_file_rolls_back_a_partial_write(tmp_path, monkeypatch):
    fh = AppendFile.create(tmp_path / "a.jsonl")
    fh.write(b"one\n")
    real = os.write

    def half_then_full(fd, data):
        real(fd, bytes(data)[:2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "write", half_then_full)
    with pytest.raises(OSError):
        fh.write(b"two\n")
    monkeypatch.setattr(files.os, "write", real)
    fh.write(b"three\n")
    fh.close()
    assert (tmp_path / "a.jsonl").read_bytes() == b"one\nthree\n"


def test_append_file_create_never_reuses_a_name(tmp_path, victim):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name in ("dangling", victim.name):
        with pytest.raises(FileExistsError):
            AppendFile.create(tmp_path / name)
    assert not (tmp_path / "nowhere").exists() and victim.read_text() == "precious"


def test_open_new_creates_only(tmp_path, victim):
    with files.open_new(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write("{}\n")
    with pytest.raises(FileExistsError):
        files.open_new(tmp_path / "metrics.jsonl", "a")
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(FileExistsError):
        files.open_new(tmp_path / "link")
    assert victim.read_text() == "precious"


def test_dir_lock_is_exclusive_and_reports_its_holder(tmp_path):
    first = DirLock(tmp_path, command=["justrl-train", "--config", "x"]).acquire()
    assert DirLock.holder_of(tmp_path)["command"] == ["justrl-train", "--config", "x"]
    with pytest.raises(FolderLocked) as caught:
        DirLock(tmp_path).acquire()
    assert caught.value.holder["pid"] == os.getpid() and "justrl-train --config x" in str(caught.value)
    first.release()
    assert DirLock.holder_of(tmp_path) is None
    with DirLock(tmp_path) as again:
        assert again.held


def test_holder_of_a_folder_never_locked_creates_nothing(tmp_path):
    assert DirLock.holder_of(tmp_path) is None and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "free some space"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied"), (errno.ENOTDIR, "not a folder")])
def test_os_errors_read_as_one_line_with_advice(code, words):
    text = files.describe_os_error(OSError(code, os.strerror(code)), "write", "/x/run.json")
    assert text.startswith("cannot write /x/run.json: ") and words in text and "\n" not in text
