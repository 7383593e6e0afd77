"""Per-sample seeds: a stable function of (master seed, benchmark, problem id, sample index).

``sample_seed`` hashes the four parts with SHA-256 and keeps the low 31 bits, so the seed is a
non-negative int that every backend accepts (vLLM, torch, OpenAI-compatible servers), is identical on
every machine and Python version (no ``hash()`` randomisation), and does not depend on which other
samples are in the run. A resumed, sharded or partial run therefore asks for the same seeds.
"""

from __future__ import annotations

import hashlib

SEED_BITS = 31


def sample_seed(master_seed: int, benchmark: str, problem_id: str, sample_index: int) -> int:
    """The seed of one sample: ``sha256("master|BENCHMARK|problem|index")`` mod 2**31.

    ``benchmark`` is the registry name (e.g. ``"AIME24"``); case is significant.
    """
    text = f"{int(master_seed)}|{benchmark}|{problem_id}|{int(sample_index)}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)
