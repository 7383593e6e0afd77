"""Verification speed: justrl lenient and strict against Math-Verify 0.9.0, on the same pairs, in one run.

Pairs are built from the nine benchmark files (``../shared/benchmarks`` or ``--data-dir``): for every
problem, as many responses as JustRL samples (12,184 in all), shaped like model outputs (reasoning
text, then ``\\boxed{...}``) and cycling through four kinds: the gold itself, an equivalent rewrite, a
wrong answer (another problem's gold) and an unboxed, unfinished response.

Measured, each in one process calling the single-pair function in a loop (after warm-up):
pairs/s, p50/p99/max latency per pair, and agreement between the checkers. Then ``verify_many`` over
all pairs with ``--workers`` processes including worker start-up, and, when present, accuracy of
justrl lenient and Math-Verify on the labelled corpus ``tests/verify/cases/corpus.jsonl``.

    .venv/bin/python bench/verify_speed.py            # all pairs
    .venv/bin/python bench/verify_speed.py --limit 3000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REASONING = (
    "<think>\nLet me set up the problem carefully. {question}\n\n"
    "First, I write down what is given and what is asked. Let $x$ be the unknown quantity; then the "
    "conditions give a system that I can reduce step by step. Expanding, $x^2 + 2x + 1 = (x+1)^2$, and "
    "comparing coefficients with the constraint, the remaining cases follow from a short case analysis.\n"
    "Wait, let me double-check the arithmetic: $3 \\cdot 7 = 21$ and $21 + 4 = 25 = 5^2$, consistent.\n"
    "</think>\n\nPutting the pieces together, we obtain the final answer.\n\n"
)


@dataclass(frozen=True)
class Pair:
    response: str
    gold: str
    kind: str  # "gold", "rewrite", "wrong", "unboxed"


def _unwrap(gold: str) -> str:
    from justrl.verify.strict import unwrap_gold

    return unwrap_gold(gold.strip())


def rewrite(answer: str) -> str:
    """An equivalent way a model might write ``answer`` (a grader should accept it)."""
    if re.fullmatch(r"-?\d+", answer):
        return f"x = {answer}" if len(answer) % 2 else f"{answer}.0"
    if "\\frac" in answer:
        return answer.replace("\\frac", "\\dfrac")
    if re.fullmatch(r"-?\d+\.\d+", answer):
        return answer + "0"
    return re.sub(r"\s*([+=,])\s*", r" \1 ", answer)


def build_pairs(data_dir: Path, limit: int | None = None) -> list[Pair]:
    """JustRL's sample counts per problem, cycling through the four response kinds."""
    from justrl.benchmarks.loaders import read_problems
    from justrl.benchmarks.registry import BENCHMARKS

    pairs: list[Pair] = []
    for spec in BENCHMARKS.values():
        problems = read_problems(data_dir / spec.relpath, spec)
        golds = [_unwrap(p.gold) for p in problems]
        for i, problem in enumerate(problems):
            head = REASONING.format(question=problem.question[:600])
            other = next((g for g in golds[i + 1:] + golds[:i] if g != golds[i]), golds[i] + "1")
            answers = {
                "gold": f"{head}The answer is $\\boxed{{{golds[i]}}}$.",
                "rewrite": f"{head}Therefore the answer is $\\boxed{{{rewrite(golds[i])}}}$.",
                "wrong": f"{head}So we get $\\boxed{{{other}}}$.",
                "unboxed": f"{head}Hmm, this is getting long; let me reconsider the second case",
            }
            kinds = ("gold", "rewrite", "gold", "wrong", "gold", "rewrite", "wrong", "unboxed")
            for s in range(spec.default_samples):
                kind = kinds[s % len(kinds)]
                pairs.append(Pair(answers[kind], problem.gold, kind))
    return pairs[:limit] if limit else pairs


@dataclass
class Timing:
    name: str
    verdicts: list[bool]
    latencies: list[float]  # seconds per pair
    total: float  # seconds for all pairs

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.total if self.total else float("inf")

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_checker(name: str, check: Callable[[str, str], bool], pairs: list[Pair], progress) -> Timing:
    verdicts, latencies = [], []
    task = progress.add_task(name, total=len(pairs))
    clock = time.perf_counter
    start = clock()
    for pair in pairs:
        t0 = clock()
        verdicts.append(bool(check(pair.response, pair.gold)))
        latencies.append(clock() - t0)
        progress.advance(task)
    total = clock() - start
    progress.remove_task(task)
    return Timing(name, verdicts, latencies, total)


def math_verify_checker() -> Callable[[str, str], bool] | None:
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def check(response: str, gold: str) -> bool:
        # Math-Verify's documented usage: the gold is LaTeX inside $...$ (or already boxed).
        gold_text = gold if ("$" in gold or "\\boxed" in gold) else f"${gold}$"
        try:
            return verify(parse(gold_text), parse(response))
        except Exception:
            return False

    return check


def justrl_checker(mode: str) -> Callable[[str, str], bool]:
    from justrl.verify import verify

    return lambda response, gold: verify(response, gold, mode).correct


def agreement(a: Timing, b: Timing) -> float:
    same = sum(x == y for x, y in zip(a.verdicts, b.verdicts, strict=True))
    return same / len(a.verdicts)


def corpus_accuracy(checkers: dict[str, Callable[[str, str], bool]]) -> dict[str, dict[str, int]]:
    path = ROOT / "tests" / "verify" / "cases" / "corpus.jsonl"
    if not path.exists():
        return {}
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out: dict[str, dict[str, int]] = {}
    for name, check in checkers.items():
        fp = fn = 0
        for case in cases:
            got = check(case["response"], case["gold"])
            fp += got and not case["correct"]
            fn += (not got) and case["correct"]
        out[name] = {"cases": len(cases), "errors": fp + fn, "false_positives": fp, "false_negatives": fn}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-math-verify", action="store_true")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from justrl.verify import DEFAULT_TIMEOUT, verify, verify_many
    from justrl.verify.api import shutdown_pool

    console = Console(stderr=True)
    if not (args.data_dir / "AIME24" / "test.parquet").exists():
        console.print(f"no benchmark files under {args.data_dir}; pass --data-dir")
        return 2
    pairs = build_pairs(args.data_dir, args.limit)
    kinds = {k: sum(p.kind == k for p in pairs) for k in ("gold", "rewrite", "wrong", "unboxed")}
    console.print(f"{len(pairs)} pairs {kinds}")

    # verify_many over everything, from a cold pool (worker start-up included).
    shutdown_pool()
    t0 = time.perf_counter()
    many = verify_many([(p.response, p.gold) for p in pairs], mode="lenient", workers=args.workers)
    many_seconds = time.perf_counter() - t0

    # One lenient check that needs a worker: from a cold pool (process start + sympy import), then warm.
    shutdown_pool()
    symbolic = ("so \\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{2})")
    t0 = time.perf_counter()
    verify(*symbolic)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    verify(*symbolic)
    warm = time.perf_counter() - t0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        timings = [run_checker("justrl lenient", justrl_checker("lenient"), pairs, progress),
                   run_checker("justrl strict", justrl_checker("strict"), pairs, progress)]
        mv = None if args.no_math_verify else math_verify_checker()
        if mv is not None:
            mv("warm-up \\boxed{\\sqrt{2}}", "\\sqrt{2}")
            timings.append(run_checker("Math-Verify 0.9.0", mv, pairs, progress))

    out = Console()
    table = Table(title=f"{len(pairs)} benchmark pairs, one process")
    for col in ("checker", "pairs/s", "p50 ms", "p99 ms", "max ms", "accepted", "vs Math-Verify"):
        table.add_column(col, justify="right" if col != "checker" else "left")
    base = timings[-1] if mv is not None else None
    for t in timings:
        ratio = f"{t.rate / base.rate:.1f}x faster, agree {agreement(t, base):.1%}" if base and t is not base else ""
        table.add_row(t.name, f"{t.rate:,.0f}", f"{t.quantile(0.5) * 1e3:.2f}", f"{t.quantile(0.99) * 1e3:.2f}",
                      f"{max(t.latencies) * 1e3:.1f}", f"{sum(t.verdicts)}", ratio)
    out.print(table)
    lenient = timings[0]
    same = sum(v.correct == c for v, c in zip(many, lenient.verdicts, strict=True))
    over = sum(x > DEFAULT_TIMEOUT for x in lenient.latencies)
    timeouts = sum(v.reason == "timeout" for v in many)
    out.print(f"verify_many, {args.workers} workers, cold start: {many_seconds:.1f} s for {len(pairs)} pairs "
              f"({len(pairs) / many_seconds:,.0f} pairs/s); agrees with verify() on {same}/{len(pairs)}; "
              f"timeouts {timeouts}; single calls past the {DEFAULT_TIMEOUT:g} s timeout: {over}")
    out.print(f"worker hop: first symbolic check from a cold pool {cold:.2f} s (start-up included), "
              f"same check on the warm worker {warm * 1e3:.1f} ms")
    by_kind = {k: sum(v for v, p in zip(lenient.verdicts, pairs, strict=True) if p.kind == k) for k in kinds}
    out.print(f"justrl lenient accepted per kind: {by_kind} (of {kinds})")

    checkers = {"justrl lenient": justrl_checker("lenient")}
    if mv is not None:
        checkers["Math-Verify 0.9.0"] = mv
    accuracy = corpus_accuracy(checkers)
    for name, row in accuracy.items():
        out.print(f"corpus accuracy, {name}: {row['errors']} errors of {row['cases']} "
                  f"({row['false_positives']} false positives, {row['false_negatives']} false negatives)")
    if base is not None:
        out.print(f"lenient / Math-Verify throughput: {lenient.rate / base.rate:.1f}x; "
                  f"strict: {timings[1].rate:,.0f} responses/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
