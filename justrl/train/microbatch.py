"""Token-budget micro-batches (DESIGN.md §5): rows packed by length, each padded only to its own longest row.

JustRL trained with veRL's ``use_dynamic_bsz=True`` and ``ppo_max_token_len_per_gpu=32768``: a mini-batch is
cut into micro-batches of at most that many tokens. veRL removes padding (``use_remove_padding``), so its
budget counts real tokens; here micro-batches are padded tensors, so the budget bounds what is computed,
``rows x width`` with width the micro-batch's longest row (prompt + response).

Layout. The trainer's full tensors (``justrl.train.loop.collate``) are [N, P + T]: prompts left-padded to P,
responses right-padded to T. Inside a micro-batch every row is right-aligned instead, ``[pad..., prompt,
response]``, width ``max(prompt + response)``, so a row is padded only by how much shorter it is than the
longest row (left-padding prompts and right-padding responses separately would pad to ``max prompt + max
response``). Response-aligned tensors of the micro-batch ([n, response_width]: log-probs, masks) are
right-aligned the same way: row i's response fills its last ``r_i`` columns. Position ids count from each
row's first real token, so a row's log-probs are the same in any micro-batch (and in the full batch).
``take_sequence`` / ``take_response`` build these tensors from the full ones, ``put_response`` writes
per-token results (old log-probs) back into the full layout.

Packing. Rows are sorted by decreasing length and cut into consecutive runs by dynamic programming,
minimising ``computed tokens + overhead_tokens x micro-batches`` (a micro-batch has a fixed cost: kernel
launches, the optimizer-free part of a forward/backward). veRL instead balances the real-token sums of
``ceil(total / budget)`` micro-batches (``verl/utils/seqlen_balancing.py::rearrange_micro_batches``,
Karmarkar-Karp partitions); without padding removal that would pad short rows to long ones.

Loss. The token-mean stays exact whatever the packing: each micro-batch's loss is ``sum(L * mask) / N`` with
N the response tokens of the whole (global) mini-batch, i.e. ``policy_loss(..., normalizer=N)``; the
micro-batches' gradients add up to the one-batch gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from torch import Tensor


@dataclass(frozen=True)
class MicroBatch:
    """One micro-batch: ``rows`` (indices into the mini-batch, ascending) and their real lengths.

    ``prompt_lengths[k]`` / ``response_lengths[k]`` belong to ``rows[k]``. ``width``: the longest row
    (prompt + response, the response counted as at least 1 token); ``response_width``: the longest response
    (at least 1), the ``response_width`` to give ``sequence_logprobs`` for this micro-batch.
    """

    rows: tuple[int, ...]
    prompt_lengths: tuple[int, ...]
    response_lengths: tuple[int, ...]

    @property
    def width(self) -> int:
        """Sequence length of the micro-batch's tensors (its longest row)."""
        return max(p + max(r, 1) for p, r in zip(self.prompt_lengths, self.response_lengths, strict=True))

    @property
    def response_width(self) -> int:
        return max(1, max(self.response_lengths))

    @property
    def tokens(self) -> int:
        """Real tokens (prompt + response) of its rows."""
        return sum(self.prompt_lengths) + sum(self.response_lengths)

    @property
    def cost(self) -> int:
        """Token positions computed for it: rows x width."""
        return len(self.rows) * self.width


def pack_micro_batches(prompt_lengths: Sequence[int], response_lengths: Sequence[int], max_tokens: int, *,
                       max_rows: int | None = None, min_count: int = 1,
                       overhead_tokens: int | None = None) -> list[MicroBatch]:
    """Pack rows into micro-batches of ``cost`` (rows x longest row) at most ``max_tokens``.

    Rows are sorted by decreasing length (prompt + response; ties by index) and cut into consecutive runs
    that minimise ``sum of costs + overhead_tokens x number of micro-batches`` (default overhead
    ``max_tokens // 64``), each within the budget and ``max_rows`` rows when given. A row longer than the
    budget goes alone. ``min_count``: the micro-batches with the most rows are halved until there are at least
    that many (FSDP needs the same number of forwards on every rank: all-reduce the MAX of the counts, then
    pack again with it, as veRL does with ``same_micro_num_in_dp``). Ordered by first row.
    """
    if len(prompt_lengths) != len(response_lengths):
        raise ValueError(f"{len(prompt_lengths)} prompt lengths for {len(response_lengths)} response lengths")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    lengths = [(int(p), int(r)) for p, r in zip(prompt_lengths, response_lengths, strict=True)]
    if any(p < 0 or r < 0 for p, r in lengths):
        raise ValueError("lengths must be non-negative")
    n = len(lengths)
    if min_count > max(n, 1):
        raise ValueError(f"cannot make {min_count} micro-batches out of {n} rows")
    overhead = max_tokens // 64 if overhead_tokens is None else int(overhead_tokens)
    order = sorted(range(n), key=lambda i: (-_row_width(lengths[i]), i))
    groups = [sorted(run) for run in _runs(order, lengths, max_tokens, max_rows, overhead)]
    while n and len(groups) < min_count:
        groups.sort(key=len, reverse=True)
        big = groups.pop(0)
        groups += [big[:len(big) // 2], big[len(big) // 2:]]
    out = [MicroBatch(tuple(g), tuple(lengths[i][0] for i in g), tuple(lengths[i][1] for i in g)) for g in groups]
    return sorted(out, key=lambda m: m.rows[0])


def _row_width(length: tuple[int, int]) -> int:
    return length[0] + max(length[1], 1)


def _runs(order: list[int], lengths: list[tuple[int, int]], budget: int, max_rows: int | None,
          overhead: int) -> list[list[int]]:
    """Optimal cut of ``order`` (rows by decreasing width) into consecutive runs: minimum total
    ``rows x width + overhead`` per run, then fewest runs; each run within ``budget`` and ``max_rows`` (a single
    row always fits)."""
    n = len(order)
    best: list = [(0, 0)] + [None] * n  # best[i]: (least total, fewest runs) for order[:i]
    cut = [0] * (n + 1)
    for j in range(n):
        width = _row_width(lengths[order[j]])  # the run's first row is its widest
        for i in range(j, n):
            rows = i - j + 1
            cost = rows * width
            if rows > 1 and (cost > budget or (max_rows is not None and rows > max_rows)):
                break
            candidate = (best[j][0] + cost + overhead, best[j][1] + 1)
            if best[i + 1] is None or candidate <= best[i + 1]:  # ties: the earlier runs fuller
                best[i + 1], cut[i + 1] = candidate, j
    runs, end = [], n
    while end > 0:
        runs.append(order[cut[end]:end])
        end = cut[end]
    return runs[::-1]


def padding_ratio(micro_batches: Sequence[MicroBatch]) -> float:
    """Token positions computed / real tokens over the micro-batches (1.0 = no padding)."""
    real = sum(m.tokens for m in micro_batches)
    return sum(m.cost for m in micro_batches) / real if real else 1.0


# ----------------------------------------------------------------------------- tensors of one micro-batch
def _gather(t: Tensor, mb: MicroBatch, shifts: list[int], width: int, fill) -> Tensor:
    """out[k, j] = t[rows[k], j - shifts[k]] where that column exists, else ``fill``."""
    import torch

    idx = torch.as_tensor(mb.rows, dtype=torch.long, device=t.device)
    cols = torch.arange(width, device=t.device).unsqueeze(0) - torch.as_tensor(shifts, device=t.device).unsqueeze(1)
    inside = (cols >= 0) & (cols < t.shape[1])
    picked = t.index_select(0, idx).gather(1, cols.clamp(0, t.shape[1] - 1))
    return picked.masked_fill(~inside, fill)


def take_rows(t: Tensor, mb: MicroBatch) -> Tensor:
    """``t[rows]`` for a per-row tensor ([N] or [N, ...], e.g. advantages)."""
    import torch

    return t.index_select(0, torch.as_tensor(mb.rows, dtype=torch.long, device=t.device))


def take_sequence(t: Tensor, mb: MicroBatch, response_width: int, *, fill=0) -> Tensor:
    """A [N, P + T] tensor of the full layout (prompts left-padded to P, responses right-padded to
    T = ``response_width``) as the micro-batch's [n, width] tensor, rows right-aligned; ``fill`` in front."""
    prompt_total = t.shape[1] - response_width
    if any(p > prompt_total for p in mb.prompt_lengths) or any(r > response_width for r in mb.response_lengths):
        raise ValueError(f"micro-batch rows are longer than the tensor's widths ({prompt_total}, {response_width})")
    width = mb.width
    # row k's real tokens sit at full columns [P - p_k, P + r_k) and go to the last p_k + r_k columns
    shifts = [width - prompt_total - r for r in mb.response_lengths]
    return _gather(t, mb, shifts, width, fill)


def take_response(t: Tensor, mb: MicroBatch, *, fill=0) -> Tensor:
    """A response-aligned [N, T] tensor (row i's values in its first r_i columns) as the micro-batch's
    right-aligned [n, response_width] tensor; ``fill`` in front of shorter responses."""
    if any(r > t.shape[1] for r in mb.response_lengths):
        raise ValueError(f"micro-batch responses are longer than the tensor's width {t.shape[1]}")
    width = mb.response_width
    return _gather(t, mb, [width - r for r in mb.response_lengths], width, fill)


def put_response(full: Tensor, mb: MicroBatch, values: Tensor) -> None:
    """Write a micro-batch's right-aligned [n, response_width] values (e.g. old log-probs) into ``full`` [N, T]
    at each row's response columns [0, r_i); the rest of those rows is set to 0."""
    width = values.shape[1]
    for k, (row, r) in enumerate(zip(mb.rows, mb.response_lengths, strict=True)):
        full[row].zero_()
        if r:
            full[row, :r] = values[k, width - r:].to(full.dtype)
