"""Held-out accuracy: justrl lenient against Math-Verify 0.9.0 on ``tests/verify/cases/heldout.jsonl``.

The held-out corpus was written blind (before reading ``justrl/verify``) and hand-labelled with the
question "would a careful human grader accept this final answer?". For each checker this reports
errors, false positives (accepted but labelled incorrect), false negatives (rejected but labelled
correct), errors per ``kind``, and prints every failing case.

Math-Verify is used as its README shows: the gold wrapped in ``$...$`` and the whole response parsed.

    .venv/bin/python bench/verify_heldout.py
    .venv/bin/python bench/verify_heldout.py --no-math-verify --quiet
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "verify" / "cases" / "heldout.jsonl"


def load(path: Path = CORPUS) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def justrl_checker() -> Callable[[str, str], tuple[bool, str]]:
    from justrl.verify import verify

    def check(response: str, gold: str) -> tuple[bool, str]:
        v = verify(response, gold, mode="lenient")
        return bool(v.correct), f"extracted={v.extracted!r} reason={v.reason!r}"

    return check


def math_verify_checker() -> Callable[[str, str], tuple[bool, str]] | None:
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def check(response: str, gold: str) -> tuple[bool, str]:
        try:
            g = parse(f"${gold}$")
            a = parse(response)
            return bool(verify(g, a)), f"parsed={[str(x) for x in a]!r}"
        except Exception as exc:  # noqa: BLE001 - a crash counts as "not accepted"
            return False, f"exception {type(exc).__name__}: {exc}"

    return check


def evaluate(name: str, check: Callable[[str, str], tuple[bool, str]], cases: list[dict], quiet: bool) -> dict:
    fp: list[int] = []
    fn: list[int] = []
    per_kind: Counter[str] = Counter()
    total_kind: Counter[str] = Counter()
    notes: dict[int, str] = {}
    for i, case in enumerate(cases):
        got, note = check(case["response"], case["gold"])
        total_kind[case["kind"]] += 1
        if got != case["correct"]:
            (fp if got else fn).append(i)
            per_kind[case["kind"]] += 1
            notes[i] = note
    n = len(cases)
    errors = len(fp) + len(fn)
    print(f"\n=== {name} ===")
    print(f"cases {n}  errors {errors} ({errors / n:.1%})  false positives {len(fp)}  false negatives {len(fn)}")
    print("errors per kind: " + ", ".join(f"{k} {per_kind[k]}/{total_kind[k]}" for k in sorted(total_kind) if per_kind[k]))
    if not quiet:
        for label, idx in (("FALSE POSITIVE", fp), ("FALSE NEGATIVE", fn)):
            for i in idx:
                c = cases[i]
                resp = c["response"].replace("\n", "\\n")
                if len(resp) > 160:
                    resp = "..." + resp[-160:]
                print(f"  [{label}] #{i} kind={c['kind']} gold={c['gold']!r} why={c['why']!r}")
                print(f"      response={resp!r}")
                print(f"      {notes[i]}")
    return {"errors": errors, "fp": fp, "fn": fn}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--no-math-verify", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="only the summary lines")
    args = ap.parse_args()
    cases = load(args.corpus)
    print(f"corpus {args.corpus} ({len(cases)} cases, {sum(not c['correct'] for c in cases)} labelled incorrect)")
    evaluate("justrl lenient", justrl_checker(), cases, args.quiet)
    if not args.no_math_verify:
        mv = math_verify_checker()
        if mv is None:
            print("\nMath-Verify not installed; skipped")
        else:
            evaluate("Math-Verify 0.9.0", mv, cases, args.quiet)


if __name__ == "__main__":
    main()
