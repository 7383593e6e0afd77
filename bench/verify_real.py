"""Real model outputs: justrl lenient against Math-Verify 0.9.0 on ``tests/verify/cases/real/corpus.jsonl``.

The corpus holds real responses copied from public evaluation logs of several model families and
benchmarks (sources in ``tests/verify/cases/real/README.md``), each labelled by the careful-grader
rule ("would a careful human grader accept the final answer the response gives?"). Both verifiers
run on every record in the same process and run; for each this prints accuracy, false positives
(accepted, labelled incorrect), false negatives (rejected, labelled correct), the same per model
family and per benchmark, and the time spent, then the time ratio. ``--show-errors`` prints every
wrong verdict with the end of its response.

justrl is called as the evaluation calls it: ``verify(response, gold, mode="lenient")``, with the
record's ``question=`` when the installed ``verify`` accepts that keyword (``--no-question`` turns
it off). Math-Verify is used as its README shows: the gold wrapped in ``$...$``, the whole response
parsed.

    .venv/bin/python bench/verify_real.py
    .venv/bin/python bench/verify_real.py --show-errors --only justrl
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "verify" / "cases" / "real" / "corpus.jsonl"

Checker = Callable[[dict], tuple[bool, str]]


def load(path: Path = CORPUS) -> list[dict]:
    """The corpus records, in file order."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def family(model: str) -> str:
    """A model family for the per-family table: the first word of the model name."""
    return model.split()[0] if model else "?"


def justrl_checker(use_question: bool = True) -> Checker:
    from justrl.verify import verify

    takes_question = use_question and "question" in inspect.signature(verify).parameters

    def check(rec: dict) -> tuple[bool, str]:
        kwargs = {"question": rec.get("question")} if takes_question else {}
        v = verify(rec["response"], rec["gold"], mode="lenient", **kwargs)
        return bool(v.correct), f"extracted={v.extracted!r} reason={v.reason}"

    return check


def math_verify_checker() -> Checker | None:
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def check(rec: dict) -> tuple[bool, str]:
        try:
            g = parse(f"${rec['gold']}$")
            a = parse(rec["response"])
            return bool(verify(g, a)), f"parsed={[str(x) for x in a][:3]!r}"
        except Exception as exc:  # noqa: BLE001 - a crash counts as "not accepted"
            return False, f"exception {type(exc).__name__}: {exc}"

    return check


@dataclass
class Tally:
    n: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def acc(self) -> float:
        return (self.n - self.fp - self.fn) / self.n if self.n else 0.0


@dataclass
class Result:
    name: str
    total: Tally = field(default_factory=Tally)
    by_family: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_bench: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    errors: list[tuple[dict, bool, str]] = field(default_factory=list)
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")


def score(name: str, check: Checker, cases: list[dict]) -> Result:
    """Run ``check`` on every case and tally its verdicts against the labels."""
    res = Result(name)
    t0 = time.perf_counter()
    for rec in cases:
        t = time.perf_counter()
        got, note = check(rec)
        dt = time.perf_counter() - t
        if dt > res.slowest[0]:
            res.slowest = (dt, rec["id"])
        want = bool(rec["label"])
        for tally in (res.total, res.by_family[family(rec["model"])], res.by_bench[rec["benchmark"]]):
            tally.n += 1
            if got and not want:
                tally.fp += 1
            elif want and not got:
                tally.fn += 1
        if got != want:
            res.errors.append((rec, got, note))
    res.seconds = time.perf_counter() - t0
    return res


def table(title: str, rows: dict[str, list[Tally]], names: list[str]) -> None:
    head = "".join(f" | {n:>24}" for n in names)
    print(f"\n{title:<34}{head}")
    for key in sorted(rows):
        cells = "".join(f" | {t.acc:6.3f} FP {t.fp:3d} FN {t.fn:3d}  " for t in rows[key])
        print(f"{key[:34]:<34}{cells}  (n={rows[key][0].n})")


def tail(text: str, n: int = 300) -> str:
    return ("..." if len(text) > n else "") + text[-n:].replace("\n", "\\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--show-errors", action="store_true", help="print every wrong verdict")
    ap.add_argument("--only", choices=["justrl", "math-verify"], help="run one verifier")
    ap.add_argument("--no-question", action="store_true", help="do not pass question= to justrl")
    args = ap.parse_args(argv)
    if not args.corpus.is_file():
        print(f"verify_real: no corpus at {args.corpus}; pass --corpus PATH", file=sys.stderr)
        return 2
    cases = load(args.corpus)
    checkers: list[tuple[str, Checker]] = []
    if args.only in (None, "justrl"):
        checkers.append(("justrl lenient", justrl_checker(not args.no_question)))
    if args.only in (None, "math-verify"):
        mv = math_verify_checker()
        if mv is None:
            print("verify_real: math_verify is not installed; Math-Verify column skipped", file=sys.stderr)
        else:
            checkers.append(("Math-Verify 0.9.0", mv))
    load_avg = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"corpus {args.corpus.name}: {len(cases)} records, {sum(bool(c['label']) for c in cases)} labelled correct;"
          f" load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    results = [score(name, check, cases) for name, check in checkers]
    names = [r.name for r in results]
    for r in results:
        t = r.total
        print(f"\n=== {r.name} ===\naccuracy {t.acc:.4f}  errors {t.fp + t.fn}  false positives {t.fp}"
              f"  false negatives {t.fn}  n {t.n}\ntime {r.seconds:.2f} s ({r.seconds / max(t.n, 1) * 1e3:.2f} ms/record),"
              f" slowest {r.slowest[0] * 1e3:.0f} ms ({r.slowest[1]})")
    table("per model family", {k: [r.by_family[k] for r in results] for k in results[0].by_family}, names)
    table("per benchmark", {k: [r.by_bench[k] for r in results] for k in results[0].by_bench}, names)
    if len(results) == 2 and results[0].seconds > 0:
        print(f"\ntime ratio {results[1].name} / {results[0].name}: {results[1].seconds / results[0].seconds:.1f}x")
    if args.show_errors:
        for r in results:
            print(f"\n--- {r.name}: wrong verdicts ---")
            for rec, got, note in r.errors:
                kind = "FP" if got else "FN"
                print(f"[{kind}] {rec['id']} gold={rec['gold']!r} {note}\n     ...{tail(rec['response'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
