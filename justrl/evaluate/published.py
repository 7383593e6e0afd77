"""Published avg@N (%) from the JustRL README, as data, for side-by-side comparison.

Source: https://github.com/thunlp/JustRL README.md, section "Performance", tables
"JustRL-DeepSeek-1.5B (Based on DeepSeek-R1-Distill-Qwen-1.5B)" and "JustRL-Nemotron-1.5B (Based on
OpenMath-Nemotron-1.5B)" (read at commit 26814cd3305f94a555cbe328dff3872d95f6ac12). Columns are
avg@32 for AIME24/AIME25/AMC23/HMMT25/BRUMO25/CMIMC25 and avg@4 for MATH-500/Minerva/OlympiadBench;
"Avg" is the unweighted mean of the nine. Cells the README leaves as "/" are absent here.
Baseline rows are the numbers JustRL reports for those models, not the baselines' own papers.
The README's Avg is kept as printed; for DeepScaleR-1.5B-Preview it is 44.88 while its nine cells
average to 44.90 (a rounding or transcription difference in the source).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCE = "thunlp/JustRL README.md, Performance tables (commit 26814cd3305f94a555cbe328dff3872d95f6ac12)"
ORDER = ("AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "HMMT25", "BRUMO25", "CMIMC25")


@dataclass(frozen=True)
class PublishedRow:
    """One model's row: ``scores`` maps benchmark name to avg@N in percent; ``average`` is the README's Avg."""

    model: str
    table: str  # which README table the row is in
    scores: dict[str, float]
    average: float | None
    hf_ids: tuple[str, ...] = field(default=())  # Hugging Face ids this row describes (only where certain)


def _row(model: str, table: str, values: tuple, average: float | None, hf_ids: tuple[str, ...] = ()) -> PublishedRow:
    return PublishedRow(model, table, {b: v for b, v in zip(ORDER, values, strict=True) if v is not None},
                        average, hf_ids)


_DS = "JustRL-DeepSeek-1.5B"
_NM = "JustRL-Nemotron-1.5B"
PUBLISHED: dict[str, PublishedRow] = {r.model: r for r in (
    _row("DeepSeek-R1-Distill-1.5B", _DS, (29.90, 22.40, 63.82, 84.90, 34.65, 45.95, 13.44, 30.94, 12.89), 37.65,
         ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",)),
    _row("DeepScaleR-1.5B-Preview", _DS, (40.21, 28.65, 73.83, 89.30, 39.34, 52.79, 18.96, 40.00, 21.00), 44.88,
         ("agentica-org/DeepScaleR-1.5B-Preview",)),
    _row("ProRL-V2", _DS, (51.87, 35.73, 88.75, 92.00, 49.03, 67.84, 19.38, 47.29, 25.86), 53.08),
    _row("BroRL", _DS, (57.50, 36.88, None, 92.14, 49.08, 61.54, None, None, None), None),
    _row("JustRL-DeepSeek-1.5B", _DS, (52.60, 38.75, 91.02, 91.65, 51.47, 67.99, 21.98, 52.71, 25.63), 54.87,
         ("hbx/JustRL-DeepSeek-1.5B",)),
    _row("OpenMath-Nemotron-1.5B", _NM, (58.75, 48.44, 90.55, 92.40, 26.93, 71.70, 30.10, 61.67, 30.08), 56.74,
         ("nvidia/OpenMath-Nemotron-1.5B",)),
    _row("QUESTA-Nemotron-1.5B", _NM, (71.56, 62.08, 93.44, 92.95, 32.08, 72.28, 40.94, 67.50, 41.48), 63.81),
    _row("JustRL-Nemotron-1.5B", _NM, (69.69, 62.92, 96.02, 94.15, 30.24, 76.59, 40.63, 66.88, 41.72), 64.32,
         ("hbx/JustRL-Nemotron-1.5B",)),
)}


def find_published(model: str | None) -> PublishedRow | None:
    """The published row for a model id or path: matches a row name or Hugging Face id, case-insensitively,
    also by the id's last path component ("hbx/JustRL-DeepSeek-1.5B", "/ckpt/JustRL-DeepSeek-1.5B")."""
    if not model:
        return None
    wanted = {model.strip().rstrip("/").lower(), model.strip().rstrip("/").rsplit("/", 1)[-1].lower()}
    for row in PUBLISHED.values():
        names = {row.model.lower()} | {h.lower() for h in row.hf_ids} | {h.rsplit("/", 1)[-1].lower() for h in row.hf_ids}
        if wanted & names:
            return row
    return None
