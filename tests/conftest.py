"""Shared fixtures: the benchmark files beside the project and a tiny local model."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = REPO_ROOT.parent / "shared" / "benchmarks"


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    """../shared/benchmarks (JustRL's data/<NAME>/test.parquet layout); skipped when absent."""
    if not (SHARED_BENCHMARKS / "AIME24" / "test.parquet").exists():
        pytest.skip(f"benchmark files not found at {SHARED_BENCHMARKS} (only present in the project's CI)")
    return SHARED_BENCHMARKS


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random tiny Qwen2 model + locally trained tokenizer with a chat template (no hub)."""
    pytest.importorskip("torch")
    from justrl.evaluate.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "model")
