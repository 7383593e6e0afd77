"""Download-once-and-check, against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from justrl.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    benchmark_file,
    cache_root,
    file_sha256,
    load_benchmark,
)


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits: list[str]

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local HTTP server over ``tmp_path/mirror``; $JUSTRL_DATA_URL points at it. Yields (root, hits)."""
    root = tmp_path / "mirror"
    root.mkdir()
    hits: list[str] = []
    handler = type("Handler", (_Handler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    monkeypatch.setenv("JUSTRL_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}/data")
    yield root, hits
    server.shutdown()
    server.server_close()


def _serve(root: Path, name: str, payload: bytes | Path) -> None:
    target = root / "data" / name / "test.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(payload, Path):
        shutil.copyfile(payload, target)
    else:
        target.write_bytes(payload)


def test_downloads_once_checks_and_then_works_offline(benchmarks_dir, mirror, tmp_path):
    root, hits = mirror
    _serve(root, "AIME24", benchmarks_dir / "AIME24" / "test.parquet")
    cache = tmp_path / "cache"
    path = benchmark_file("AIME24", cache_dir=cache)
    assert path == cache / "benchmarks" / "AIME24" / "test.parquet"
    assert file_sha256(path) == BENCHMARKS["AIME24"].sha256
    assert len(load_benchmark("AIME24", cache_dir=cache, offline=True)) == 30
    assert benchmark_file("AIME24", cache_dir=cache) == path
    assert hits == ["/data/AIME24/test.parquet"]  # one download, then the cache
    assert sorted(p.name for p in path.parent.iterdir()) == ["test.parquet"]  # no temporary left


def test_wrong_checksum_is_an_error_and_the_file_is_not_kept(mirror, tmp_path):
    root, _ = mirror
    _serve(root, "AMC23", b"tampered bytes")
    cache = tmp_path / "cache"
    with pytest.raises(BenchmarkError) as info:
        benchmark_file("AMC23", cache_dir=cache, progress=False)
    assert "sha256" in str(info.value) and "file discarded" in str(info.value) and "\n" not in str(info.value)
    assert list((cache / "benchmarks" / "AMC23").iterdir()) == []


def test_missing_remote_file_is_a_download_error(mirror, tmp_path):
    with pytest.raises(BenchmarkError) as info:
        benchmark_file("HMMT25", cache_dir=tmp_path / "cache", progress=False)
    assert str(info.value).startswith("could not download HMMT25 from http://127.0.0.1:")
    assert "--data-dir" in str(info.value)


def test_offline_without_cache_names_the_file_the_url_and_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("JUSTRL_DATA_URL", raising=False)
    cache = tmp_path / "cache"
    with pytest.raises(BenchmarkError) as info:
        load_benchmark("Minerva", cache_dir=cache, offline=True)
    text = str(info.value)
    assert str(cache / "benchmarks" / "Minerva" / "test.parquet") in text
    assert BENCHMARKS["Minerva"].url in text and "--data-dir" in text and "\n" not in text


def test_corrupt_cache_offline_is_an_error(tmp_path):
    target = tmp_path / "benchmarks" / "AIME25" / "test.parquet"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half a file")
    with pytest.raises(BenchmarkError, match="is corrupt"):
        benchmark_file("AIME25", cache_dir=tmp_path, offline=True)


def test_corrupt_cache_online_is_downloaded_again(benchmarks_dir, mirror, tmp_path):
    root, hits = mirror
    _serve(root, "AIME25", benchmarks_dir / "AIME25" / "test.parquet")
    target = tmp_path / "benchmarks" / "AIME25" / "test.parquet"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half a file")
    assert file_sha256(benchmark_file("AIME25", cache_dir=tmp_path, progress=False)) == BENCHMARKS["AIME25"].sha256
    assert len(hits) == 1


@pytest.mark.parametrize(("env", "arg", "expected"), [
    (None, None, Path.home() / ".cache" / "justrl"),
    ("/tmp/jc", None, Path("/tmp/jc")),
    ("/tmp/jc", "/srv/cache", Path("/srv/cache")),
], ids=["default-home-cache", "env-overrides", "argument-overrides-env"])
def test_cache_root(monkeypatch, env, arg, expected):
    if env is None:
        monkeypatch.delenv("JUSTRL_CACHE", raising=False)
    else:
        monkeypatch.setenv("JUSTRL_CACHE", env)
    assert cache_root(arg) == expected
