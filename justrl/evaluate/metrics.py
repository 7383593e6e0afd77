"""Metrics over a problems x samples correctness matrix (pure functions, no I/O).

Per-sample correctness is decided elsewhere (``justrl.verify``); these functions only aggregate.
A matrix is a sequence of rows, one per problem, each a sequence of per-sample values in
sample-index order. Rows may differ in length (an unfinished run); each metric says how it copes.
Accuracies are fractions in [0, 1]; the report layer turns them into percentages.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

Matrix = Sequence[Sequence[bool]]
Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


def _check(correct: Matrix) -> None:
    if not correct or any(len(row) == 0 for row in correct):
        raise ValueError("need at least one problem and at least one sample per problem")


def problem_means(correct: Matrix) -> list[float]:
    """Per-problem accuracy p_i = c_i / n_i (c_i correct among n_i samples)."""
    _check(correct)
    return [sum(map(bool, row)) / len(row) for row in correct]


def avg_at_n(correct: Matrix) -> float:
    """avg@N: mean over samples within each problem, then mean over problems (JustRL's mean_score)."""
    means = problem_means(correct)
    return sum(means) / len(means)


def standard_error(correct: Matrix) -> float:
    """Standard error of avg@N, treating problems as the sampled unit.

    SE = sd(p_1..p_P) / sqrt(P), with sd the sample standard deviation (ddof=1) of the per-problem
    accuracies p_i. This is the cluster-robust SE of the sample mean with problems as clusters (equal
    sample counts), so it counts both the spread of difficulty across problems and the sampling noise
    of N draws per problem. 0.0 for a single problem (no spread can be estimated).
    """
    means = problem_means(correct)
    if len(means) < 2:
        return 0.0
    return statistics.stdev(means) / math.sqrt(len(means))


def confidence_interval(mean: float, se: float, z: float = Z95) -> tuple[float, float]:
    """Normal-approximation interval mean +- z * se (95% by default), not clipped."""
    return (mean - z * se, mean + z * se)


def wilson_interval(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed over ``n`` units (95% by default), in [0, 1].

    Used per benchmark with ``p`` = avg@N and ``n`` = problems: each problem's mean counts as one unit.
    It stays honest at the edges (0 of 30 problems -> [0, 0.114]; 30 of 30 -> [0.886, 1]) where the
    normal interval collapses to a point, and it is never narrower than the problem-clustered normal
    interval by more than its small-sample correction: a per-problem mean in [0, 1] has variance at most
    p(1 - p), the binomial variance Wilson assumes. Raises ValueError for n < 1 or p outside [0, 1].
    """
    if n < 1 or not 0.0 <= p <= 1.0:
        raise ValueError(f"need n >= 1 and 0 <= p <= 1, got n={n}, p={p}")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if p == 0.0 else max(0.0, centre - half)
    high = 1.0 if p == 1.0 else min(1.0, centre + half)
    return low, high


def combine_intervals(means: Sequence[float], intervals: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Interval of the unweighted mean of independent estimates: each side's half-widths combined in
    quadrature, ``mean -+ sqrt(sum h_i^2) / B`` (lower and upper separately, so asymmetric Wilson
    intervals stay asymmetric), clipped to [0, 1]."""
    if not means or len(means) != len(intervals):
        raise ValueError("need one interval per mean")
    count = len(means)
    mean = sum(means) / count
    low = math.sqrt(sum((m - lo) ** 2 for m, (lo, _) in zip(means, intervals, strict=True))) / count
    high = math.sqrt(sum((hi - m) ** 2 for m, (_, hi) in zip(means, intervals, strict=True))) / count
    return max(0.0, mean - low), min(1.0, mean + high)


def pass_at_k_single(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem (Chen et al. 2021): 1 - C(n-c, k) / C(n, k).

    Computed as 1 - prod_{i=n-c+1}^{n} (1 - k / i), which avoids huge binomials. Requires 1 <= k <= n.
    """
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def pass_at_k(correct: Matrix, k: int) -> float:
    """Mean over problems of the unbiased pass@k; every problem needs at least k samples."""
    _check(correct)
    return sum(pass_at_k_single(len(row), sum(map(bool, row)), k) for row in correct) / len(correct)


def k_values(n: int) -> list[int]:
    """The k reported for pass@k and maj@k: 1, 2, 4, ... up to n, plus n itself."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks[-1] != n:
        ks.append(n)
    return ks


def best_of_n(correct: Matrix) -> float:
    """Fraction of problems with at least one correct sample (= pass@N; JustRL's best_score)."""
    _check(correct)
    return sum(any(row) for row in correct) / len(correct)


def solve_counts(correct: Matrix) -> tuple[int, int]:
    """(solve_none, solve_all): problems with no correct sample, and with every sample correct."""
    _check(correct)
    return sum(not any(row) for row in correct), sum(all(row) for row in correct)


_SPACE = re.compile(r"\s+")
_DROP = ("\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\displaystyle", "$")


def answer_key(extracted: str | None) -> str | None:
    """Grouping key for majority voting: the extracted answer with presentation-only LaTeX removed.

    Drops ``\\left``/``\\right``, thin spaces, ``$`` and whitespace, maps ``\\dfrac``/``\\tfrac`` to
    ``\\frac`` and strips a trailing period. None (no final answer) stays None and never votes.
    """
    if extracted is None:
        return None
    text = extracted
    for token in _DROP:
        text = text.replace(token, "")
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = _SPACE.sub("", text).rstrip(".")
    return text or None


def majority_correct(correct: Sequence[bool], keys: Sequence[str | None]) -> bool:
    """Is the most voted answer among these samples correct?

    Votes: samples with a key (an extracted final answer). Every correct sample votes for one shared
    "gold" group (all correct answers equal the gold, so they are equivalent to each other); incorrect
    samples are grouped by :func:`answer_key`. The largest group wins; a tie is broken by the group
    whose first vote came earliest. No votes at all counts as incorrect.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, (ok, key) in enumerate(zip(correct, keys, strict=True)):
        if key is None and not ok:
            continue
        group = "\0gold" if ok else key
        counts[group] = counts.get(group, 0) + 1
        first.setdefault(group, i)
    if not counts:
        return False
    winner = max(counts, key=lambda g: (counts[g], -first[g]))
    return winner == "\0gold"


def maj_at_k(correct: Matrix, keys: Sequence[Sequence[str | None]], k: int) -> float:
    """maj@k: per problem, split its samples (in index order) into floor(n/k) disjoint blocks of k,
    take :func:`majority_correct` of each block and average; then average over problems.

    Using every disjoint block (rather than only the first k samples) lowers the variance; maj@N is the
    single vote over all N samples. Every problem needs at least k samples.
    """
    _check(correct)
    total = 0.0
    for row, row_keys in zip(correct, keys, strict=True):
        blocks = len(row) // k
        if blocks == 0:
            raise ValueError(f"maj@k needs k <= n, got k={k}, n={len(row)}")
        wins = sum(majority_correct(row[b * k:(b + 1) * k], row_keys[b * k:(b + 1) * k]) for b in range(blocks))
        total += wins / blocks
    return total / len(correct)


_MIX = 0x9E3779B97F4A7C15  # odd 64-bit multiplier (2**64 / golden ratio) for combining token hashes
_BASE = 0xD6E8FEB86659FD93  # odd base of the polynomial byte hash of a token
# str.split() separators: ASCII ones as a byte table; the rest (non-ASCII) are mapped to a space first
_ASCII_SPACE = bytes(c for c in range(128) if chr(c).isspace())
_UNICODE_SPACE = str.maketrans({c: " " for c in map(chr, range(128, 0x3001)) if c.isspace()})
_POWERS: list = []  # cached [BASE**j, BASE**-j] mod 2**64 as numpy arrays, grown on demand


def _powers(length: int):
    import numpy as np

    if not _POWERS or _POWERS[0].size < length:
        size = max(length, 1 << 16)
        with np.errstate(over="ignore"):
            forward = np.cumprod(np.full(size, _BASE, dtype=np.uint64))
            backward = np.cumprod(np.full(size, pow(_BASE, -1, 1 << 64), dtype=np.uint64))
        one = np.ones(1, dtype=np.uint64)
        _POWERS[:] = [np.concatenate([one, forward[:-1]]), np.concatenate([one, backward[:-1]])]
    return _POWERS


def _token_hashes(text: str):
    """One uint64 per whitespace token of ``text`` (same tokens as ``text.split()``), computed on the
    UTF-8 bytes: the polynomial hash of the token's bytes (base ``_BASE`` mod 2**64), mixed with its
    length and passed through a 64-bit finaliser."""
    import numpy as np

    if not text.isascii():
        text = text.translate(_UNICODE_SPACE)
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if data.size == 0:
        return np.zeros(0, dtype=np.uint64)
    space = np.zeros(256, dtype=bool)
    space[list(_ASCII_SPACE)] = True
    word = (~space[data]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], word, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    forward, backward = _powers(data.size)
    with np.errstate(over="ignore"):
        prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(data * forward[:data.size])])
        hashes = (prefix[ends] - prefix[starts]) * backward[starts]
        hashes ^= (ends - starts).astype(np.uint64) * np.uint64(_MIX)
        # MurmurHash3's 64-bit finaliser: spreads every input bit over the whole word
        hashes ^= hashes >> np.uint64(33)
        hashes *= np.uint64(0xFF51AFD7ED558CCD)
        hashes ^= hashes >> np.uint64(33)
        hashes *= np.uint64(0xC4CEB9FE1A85EC53)
        hashes ^= hashes >> np.uint64(33)
        return hashes


def distinct_ngrams(responses: Sequence[str], n: int = 4) -> float:
    """Distinct-n of a group of responses: unique n-grams / all n-grams, over whitespace tokens.

    Tokens are those of ``str.split()``. N-grams are taken within each response (never across two),
    pooled over the group. 0.0 when the group has no n-gram at all. JustRL's ``distinct_4gram`` is this
    with n=4 per problem (its N responses), averaged over problems: see :func:`mean_distinct_ngrams`.

    Vectorised for long reasoning traces (about 15 ns per token): each token is hashed to 64 bits from
    its UTF-8 bytes, each n-gram's token hashes are combined (``k = k * MIX xor h``) and the keys are
    counted by sorting. Two different n-grams share a key with probability about u**2 / 2**65 for u
    distinct n-grams (below 1e-7 for a million), which would undercount by one.
    """
    import numpy as np

    mix = np.uint64(_MIX)
    packed = []
    for text in responses:
        h = _token_hashes(text)
        starts = h.size - n + 1
        if starts <= 0:
            continue
        keys = h[:starts].copy()
        with np.errstate(over="ignore"):
            for j in range(1, n):
                keys = (keys * mix) ^ h[j:starts + j]
        packed.append(keys)
    if not packed:
        return 0.0
    keys = np.concatenate(packed)
    keys.sort()
    return (1 + int(np.count_nonzero(keys[1:] != keys[:-1]))) / keys.size


def mean_distinct_ngrams(responses_by_problem: Sequence[Sequence[str]], n: int = 4) -> float:
    """Mean over problems of :func:`distinct_ngrams` of that problem's responses."""
    if not responses_by_problem:
        raise ValueError("need at least one problem")
    return sum(distinct_ngrams(group, n) for group in responses_by_problem) / len(responses_by_problem)


def rate(flags: Sequence[bool | None]) -> float | None:
    """Fraction of True among known values (None = unknown); None when nothing is known."""
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def length_stats(lengths: Sequence[int | None]) -> dict | None:
    """mean / median / max of the known lengths (tokens), with their count; None when none is known."""
    known = [x for x in lengths if x is not None]
    if not known:
        return None
    return {"mean": sum(known) / len(known), "median": float(statistics.median(known)), "max": max(known),
            "count": len(known)}
