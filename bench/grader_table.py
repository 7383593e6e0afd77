"""The graders side by side on the nine benchmarks' golds and common answer styles (docs/evaluate-grading.md).

For every gold of the nine JustRL benchmarks this writes answers in a few styles whose truth is known
by construction (the gold itself boxed, re-typeset, in scientific notation, with a unit, unboxed, cut
off, another problem's gold, 0 for a tiny gold) and grades each with justrl's three rule graders
(lenient, strict, justrl-rule) in one run, printing Markdown tables of the share accepted. With
``--reference CMD`` it also runs JustRL's own ``grade_answer_verl`` (see
scripts/justrl_rule_reference_runner.py) on the same answers and prints its column and the agreement
with justrl-rule — the peer measured in the same run. The rule + judge layer needs the CompassVerifier-3B
model and is not part of this table.

    .venv/bin/python bench/grader_table.py --data-dir ../shared/benchmarks \\
        --reference "/tmp/refenv/bin/python scripts/justrl_rule_reference_runner.py /tmp/justrl_ref"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import time
from collections import defaultdict

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ENOTATION = re.compile(r"^(-?\d+(?:\.\d+)?)e([+-]?\d+)$", re.IGNORECASE)

# (style, truth): truth True = a careful grader should accept, False = should reject
STYLES = [
    ("gold, boxed", True),
    ("gold re-typeset (\\dfrac, spaces, \\left/\\right)", True),
    ("number as a \\times 10^{b}", True),
    ("number in e-notation", True),
    ("number with a unit (\\text{ m})", True),
    ("gold stated without a box", True),
    ("cut off inside the box", False),
    ("another problem's gold", False),
    ("0 for a tiny (< 1e-7) gold", False),
]


def _unwrap(gold: str) -> str:
    return gold[len("\\boxed{"):-1] if gold.startswith("\\boxed{") and gold.endswith("}") else gold


def _scientific(g: str) -> tuple[str, str] | None:
    """(a \\times 10^{b}, e-notation) for a numeric gold, None otherwise."""
    m = _ENOTATION.match(g)
    if m:
        mant, exp = m.group(1), int(m.group(2))
    elif _NUMBER.match(g) and float(g) != 0:
        mant, exp = f"{float(g):e}".split("e")
        mant, exp = mant.rstrip("0").rstrip("."), int(exp)
    else:
        return None
    return f"{mant} \\times 10^{{{exp}}}", f"{mant}e{exp}"


def _retypeset(g: str) -> str | None:
    out = g.replace("\\frac", "\\dfrac").replace(",", ", ")
    if out.startswith("(") and out.endswith(")"):
        out = "\\left(" + out[1:-1] + "\\right)"
    return out if out != g else None


def build(data_dir: str) -> list[dict]:
    from justrl.benchmarks import BENCHMARKS, load_benchmark

    golds = [(name, p.gold) for name in BENCHMARKS for p in load_benchmark(name, data_dir=data_dir)]
    answers = [_unwrap(g) for _, g in golds]
    cases = []
    for i, (bench, gold) in enumerate(golds):
        g = _unwrap(gold)

        def add(style: str, response: str, bench: str = bench, gold: str = gold) -> None:
            cases.append({"benchmark": bench, "style": style, "response": response, "gold": gold})

        add("gold, boxed", f"So the answer is \\boxed{{{g}}}.")
        if (r := _retypeset(g)) is not None:
            add(STYLES[1][0], f"So the answer is \\boxed{{{r}}}.")
        sci = _scientific(g)
        if sci:
            add(STYLES[2][0], f"So the answer is \\boxed{{{sci[0]}}}.")
            add(STYLES[3][0], f"So the answer is \\boxed{{{sci[1]}}}.")
            add(STYLES[4][0], f"So the answer is \\boxed{{{g} \\text{{ m}}}}.")
            value = float(g)
            if 0 < abs(value) < 1e-7:
                add(STYLES[8][0], "So the answer is \\boxed{0}.")
        add(STYLES[5][0], f"The final answer is {g}.")
        add(STYLES[6][0], f"So the answer is \\boxed{{{g[: max(1, len(g) // 2)]}")
        other = answers[(i * 7919 + 13) % len(answers)]
        if other != g:
            add(STYLES[7][0], f"So the answer is \\boxed{{{other}}}.")
    return cases


def _share(values: list[bool]) -> str:
    return f"{100.0 * sum(values) / len(values):.1f}" if values else "—"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--reference", help="command running JustRL's grade_answer_verl on JSONL stdin")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    from justrl.benchmarks import BENCHMARKS
    from justrl.evaluate.graders import grade_many

    cases = build(args.data_dir)
    pairs = [(c["response"], c["gold"]) for c in cases]
    graders = ["lenient", "strict", "justrl-rule"]
    seconds = {}
    for name in graders:
        started = time.perf_counter()
        for c, v in zip(cases, grade_many(pairs, name, workers=args.workers), strict=True):
            c[name] = v.correct
        seconds[name] = time.perf_counter() - started
    if args.reference:
        started = time.perf_counter()
        payload = "".join(json.dumps({"response": r, "gold": g}, ensure_ascii=False) + "\n" for r, g in pairs)
        done = subprocess.run(shlex.split(args.reference), input=payload, capture_output=True, text=True, check=True)
        for c, line in zip(cases, done.stdout.splitlines(), strict=True):
            c["JustRL reference"] = json.loads(line)["reference"]
        seconds["JustRL reference"] = time.perf_counter() - started
        graders.append("JustRL reference")
    print(f"{len(cases)} answers; load {os.getloadavg()[0]:.2f} (1-min average); seconds: "
          + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    print("\nGolds accepted against themselves (\\boxed{gold}), % of the benchmark's golds:\n")
    print("| benchmark | golds | " + " | ".join(graders) + " |")
    print("| --- | --- |" + " --- |" * len(graders))
    for bench in BENCHMARKS:
        rows = [c for c in cases if c["benchmark"] == bench and c["style"] == "gold, boxed"]
        print(f"| {bench} | {len(rows)} | " + " | ".join(_share([c[g] for c in rows]) for g in graders) + " |")
    for title, subset in (("all nine benchmarks", cases), ("Minerva only", [c for c in cases if c["benchmark"] ==
                                                                           "Minerva"])):
        print(f"\nAnswer styles, {title}: % accepted (should be: accept = 100, reject = 0):\n")
        print("| answer style | should | answers | " + " | ".join(graders) + " |")
        print("| --- | --- | --- |" + " --- |" * len(graders))
        by_style = defaultdict(list)
        for c in subset:
            by_style[c["style"]].append(c)
        for style, truth in STYLES:
            rows = by_style.get(style, [])
            if rows:
                print(f"| {style} | {'accept' if truth else 'reject'} | {len(rows)} | "
                      + " | ".join(_share([c[g] for c in rows]) for g in graders) + " |")
    if args.reference:
        agree = sum(c["justrl-rule"] == c["JustRL reference"] for c in cases)
        print(f"\njustrl-rule agrees with JustRL's own grader on {agree} of {len(cases)} answers.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
