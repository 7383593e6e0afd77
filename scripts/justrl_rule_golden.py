"""Build the golden verdicts of JustRL's own rule grader, for tests/evaluate/golden/justrl_rule.jsonl.

Cases are generated from the nine benchmarks' golds (each gold against itself and against perturbed
variants: formatting, units, e-notation, ``a \\times 10^{b}``, intervals, tuples, text, other problems'
golds, no box, cut-off boxes). The verdicts come from the *reference implementation*, JustRL's
``evals/utils.py::grade_answer_verl``, run in a separate interpreter outside justrl's environment (its
code is never imported by justrl) through ``scripts/justrl_rule_reference_runner.py``, which reads cases
as JSONL on stdin and prints them back with ``"reference": bool | null`` and ``"reference_status"``:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install sympy==1.14.0 pylatexenc==2.10
    mkdir /tmp/justrl_ref   # put thunlp/JustRL's evals/utils.py (commit cf444e9) there, as utils.py
    python scripts/justrl_rule_golden.py --data-dir ../shared/benchmarks \\
        --reference "/tmp/refenv/bin/python scripts/justrl_rule_reference_runner.py /tmp/justrl_ref" \\
        --out tests/evaluate/golden/justrl_rule.jsonl.gz

``--cases-only`` prints the cases without running any reference. ``--corpus FILE`` (repeatable) builds the
cases from labelled response corpora instead (the real model outputs of tests/verify/cases/real/ and the
verifier's hand-written cases), keeping each response from 200 characters before its last ``\\boxed``
(JustRL's rule reads nothing earlier, so the verdict is that of the whole response; checked once against
the reference on the full texts: 0 of 2,684 differ)::

    python scripts/justrl_rule_golden.py --data-dir ../shared/benchmarks --reference "..." \\
        --corpus tests/verify/cases/real/corpus.jsonl --corpus tests/verify/cases/corpus.jsonl \\
        --corpus tests/verify/cases/heldout.jsonl --out tests/evaluate/golden/justrl_rule_real.jsonl.gz
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

WRAPS = (
    "So the final answer is $\\boxed{{{a}}}$.",
    "Therefore \\boxed{{{a}}}",
    "<think>\nwork\n</think>\n\nThe answer is \\[\\boxed{{{a}}}\\]",
    "First guess \\boxed{{0}}, but on reflection the answer is \\boxed{{{a}}}.",
)

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ENOTATION = re.compile(r"^(-?\d+(?:\.\d+)?)e([+-]?\d+)$", re.IGNORECASE)


def _numeric_variants(g: str) -> list[str]:
    out: list[str] = []
    if _NUMBER.match(g):
        value = float(g)
        out += [f"{value + 1:g}", f"{value * 2:g}", f"{value:.3f}", f"{value:e}", f"{value:g}", f"-{g}",
                f"{g}.0", f"{g}\\%", f"{g}\\text{{ cm}}", f"{g}^\\circ", f"{g} \\text{{ meters}}", f"\\${g}",
                f"{g}\\,\\text{{m}}", f"x = {g}", f"\\text{{{g}}}", f"{g}.", f"\\mathbf{{{g}}}"]
        if "." not in g and len(g.lstrip("-")) > 3:
            digits = g.lstrip("-")
            parts = []
            while len(digits) > 3:
                parts.insert(0, digits[-3:])
                digits = digits[:-3]
            parts.insert(0, digits)
            out.append(("-" if g.startswith("-") else "") + ",".join(parts))
            out.append(("-" if g.startswith("-") else "") + "{,}".join(parts))
        if "." not in g:
            n = int(g)
            out += [f"\\frac{{{2 * n}}}{{2}}", f"{n}/1", f"\\dfrac{{{n}}}{{1}}", f"{n}!"]
        mantissa, exponent = f"{value:e}".split("e")
        m = mantissa.rstrip("0").rstrip(".")
        e = int(exponent)
        out += [f"{m} \\times 10^{{{e}}}", f"{m}\\times10^{e}", f"{m} \\cdot 10^{{{e}}}", f"{m}e{e}"]
    match = _ENOTATION.match(g)
    if match:
        m, e = match.group(1), int(match.group(2))
        out += [f"{m} \\times 10^{{{e}}}", f"{m}\\times10^{{{e}}}", f"{m} \\times 10^{e}", f"{m}e{e}",
                f"{m}E{e}", f"{float(g):.2e}", f"{float(g):g}", "0", "0.0", f"{m} \\cdot 10^{{{e}}}",
                f"{float(m) * 10:g} \\times 10^{{{e - 1}}}", f"{float(m) + 0.1:g} \\times 10^{{{e}}}",
                f"{m}\\text{{ m}}", f"{m} \\times 10^{{{e}}} \\text{{ cm}}", f"{float(g):.20f}".rstrip("0")]
    return out


def _latex_variants(g: str) -> list[str]:
    out = [g.replace("\\frac", "\\dfrac"), g.replace("\\dfrac", "\\frac"), g.replace(" ", ""),
           " ".join(g), f"\\left({g}\\right)", f"{{{g}}}", f"${g}$", g.replace("\\pi", "\\pi "),
           g.replace("\\sqrt{", "\\sqrt {"), g.replace("\\frac{", "\\tfrac{"), g + " ", g.lower(), g.upper(),
           f"\\displaystyle {g}", f"{g} + 0", f"{g} \\cdot 1", f"2 \\cdot ({g}) / 2", f"({g})^2",
           f"-({g})", f"{g} + 1", f"\\text{{{g}}}", f"\\mathrm{{{g}}}"]
    if "," in g:
        inner = g.strip("()[]\\{}leftright ")  # noqa: B005 - a character set, on purpose
        parts = [p.strip() for p in inner.split(",")]
        out += [", ".join(reversed(parts)), f"({inner})", f"[{inner}]", inner, "\\{" + inner + "\\}",
                " \\text{ and } ".join(parts), " or ".join(parts)]
    if "\\frac{" in g:
        out.append(re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", g))
        out.append(re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", g))
    if "\\sqrt{" in g:
        out.append(re.sub(r"\\sqrt\{([^{}]*)\}", r"\\sqrt\1", g))
        out.append(re.sub(r"\\sqrt\{([^{}]*)\}", r"(\1)^{1/2}", g))
    if "^\\circ" in g or "^{\\circ}" in g:
        out.append(g.replace("^\\circ", "").replace("^{\\circ}", ""))
    return out


HAND = [  # (answer, gold): parser corners (names sympy knows, complex literals, keywords, e-notation, ...)
    ("\\ln 2", "\\ln(2)"), ("\\log 2", "\\ln 2"), ("li", "li"), ("\\operatorname{re}(z)", "re(z)"),
    ("2j", "2i"), ("2i", "2j"), ("5!", "120"), ("3!", "6"), ("0.\\overline{3}", "\\frac{1}{3}"),
    ("1/3", "0.333"), ("\\frac{1}{3}", "0.3333333333"), ("10^{-5}", "1e-5"), ("10^-5", "1e-05"),
    ("1 \\times 10^{-5}", "1e-5"), ("e^{i\\pi}", "-1"), ("e^{\\pi i}+1", "0"), ("\\infty", "\\infty"),
    ("(-\\infty, 2)", "(-\\infty,2)"), ("(-\\infty, 2]", "(-\\infty,2)"), ("[1,2)", "[1,2)"),
    ("x \\in [1,2]", "[1,2]"), ("(1,2) \\cup (3,4)", "(1,2)\\cup(3,4)"), ("\\pm 2", "\\pm2"),
    ("2, -2", "\\pm 2"), ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ("if", "if"), ("1 if 1 else 2", "1"), ("lambda", "lambda"), ("x==x", "1"), ("True", "1"), ("None", "0"),
    ("__import__", "0"), ("eval(1)", "1"), ("id", "id"), ("abs(-2)", "2"), ("|-2|", "2"), ("sqrt(4)", "2"),
    ("\\sqrt4", "2"), ("\\sqrt{4}", "2.0"), ("2\\sqrt{2}", "\\sqrt{8}"), ("\\sqrt{8}", "2\\sqrt2"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("\\frac{2}{4}", "\\frac{1}{2}"), ("2/4", "1/2"),
    ("0.5", "\\frac12"), (".5", "1/2"), ("50\\%", "0.5"), ("50", "50\\%"), ("\\$5", "5"), ("5 dollars", "5"),
    ("3 cm", "3"), ("3 \\text{ cm}^2", "3"), ("3 \\mathrm{cm}", "3"), ("90^\\circ", "90"), ("\\pi/2", "90"),
    ("\\frac{\\pi}{2}", "\\pi/2"), ("x^2+2x+1", "(x+1)^2"), ("(x+1)^{2}", "x^2+2x+1"),
    ("x^2+y^2", "y^2+x^2"), ("a+b+c", "c+b+a"), ("2a", "a*2"), ("ab", "ba"), ("sin^2 x + cos^2 x", "1"),
    ("\\sin^2 x+\\cos^2 x", "1"), ("\\text{(A)}", "A"), ("(A)", "A"), ("\\textbf{(C)}", "C"), ("C", "c"),
    ("\\text{even}", "\\text{Even}"), ("yes", "Yes"), ("1,000", "1000"), ("1{,}000", "1000"),
    ("1,000,000", "10^6"), ("1 million", "1000000"), ("2 billion", "2000000000"), ("7 3/4", "31/4"),
    ("7\\frac{3}{4}", "\\frac{31}{4}"), ("-7 3/4", "-31/4"), ("1.5e3", "1500"), ("1.5E3", "1500"),
    ("1.50", "1.5"), ("1.499999999", "1.5"), ("1.0000001", "1"), ("0.1+0.2", "0.3"), ("3.14", "\\pi"),
    ("22/7", "\\pi"), ("\\dfrac{22}{7}", "22/7"), ("\\frac{22}{7}", "\\frac{44}{14}"), ("k=3", "3"),
    ("k = 3", "3"), ("abc=3", "3"), ("x=3", "x=3"), ("y=2x+1", "y=1+2x"), ("x \\le 3", "x\\leq3"),
    ("x>3", "(3,\\infty)"), ("\\{1,2,3\\}", "1,2,3"), ("1, 2, 3", "1,2,3"), ("(1, 2, 3)", "(3,2,1)"),
    ("1 and 2", "1,2"), ("1 or 2", "1, 2"), ("\\alpha", "\\alpha"), ("\\theta+1", "1+\\theta"),
    ("\\boxed{5}", "\\boxed{5}"), ("5", "\\boxed 5"), ("5", "\\fbox{5}"), ("5", ""), ("", "5"),
    ("4.5 \\times 10^{33}", "4.5e33"), ("4.5\\times10^{33}", "4.5e+33"), ("5 \\times 10^{-12}", "5e-12"),
    ("0", "5e-12"), ("0", "1.2e-30"), ("0.0", "3e-9"), ("3e-9", "3\\times 10^{-9}"), ("6 \\times 10^3", "6e3"),
    ("6 \\times 10^{3}", "6000"), ("6000", "6e3"), ("2^{10}", "1024"), ("1024", "2^{10}"), ("2^10", "1024"),
    ("2^{99}", "2^{99}"), ("2^99", "2^{99}"), ("9^9^9", "9"), ("\\frac{1}{0}", "\\infty"), ("0/0", "0"),
    ("x^{x^{x}}", "x"), ("\\sqrt[3]{8}", "2"), ("8^{1/3}", "2"), ("\\sqrt{-1}", "i"), ("i^2", "-1"),
    ("\\lfloor 2.5 \\rfloor", "2"), ("\\binom{5}{2}", "10"), ("C(5,2)", "10"), ("\\tan 45", "1"),
    ("\\mathbb{R}", "\\mathbb{R}"), ("(-\\infty,\\infty)", "\\mathbb{R}"), ("\\emptyset", "\\varnothing"),
    ("é", "e"), ("２", "2"), ("٣", "3"), ("1_000", "1000"), ("0x10", "16"), ("010", "10"), ("1e400", "1e400"),
    ("nan", "nan"), ("inf", "\\infty"), ("-0", "0"), ("+5", "5"), ("5.", "5"), ("05", "5"), ("\\!5", "5"),
    ("\\left[ 1, 2 \\right]", "[1,2]"), ("\\sqrt", "\\sqrt"), ("\\frac", "\\frac"), ("\\frac1", "1"),
    ("\\text{ cm} 5 \\text{ m}", "5"), ("a \\text{ b}", "a"), ("x=y=3", "3"),
]


def _unwrap(gold: str) -> str:
    if gold.startswith("\\boxed{") and gold.endswith("}"):
        return gold[len("\\boxed{"):-1]
    return gold


PER_GOLD = {"*": 3, "Minerva": 12, "BRUMO25": 8, "CMIMC25": 8, "HMMT25": 8}  # sampled variants per gold


def build_cases(data_dir: str, seed: int = 0, per_gold: dict[str, int] = PER_GOLD) -> list[dict]:
    """Each gold against itself (twice: in a sentence and as ``\\boxed{gold}``), sampled variants per gold
    and two sampled wrong shapes (no box, cut off, another gold, ...); deterministic for a seed."""
    from justrl.benchmarks import BENCHMARKS, load_benchmark

    rng = random.Random(seed)
    golds: list[tuple[str, str, str]] = []
    for name in BENCHMARKS:
        for p in load_benchmark(name, data_dir=data_dir):
            golds.append((name, str(p.id), p.gold))
    cases: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(bench: str, pid: str, kind: str, response: str, gold: str) -> None:
        if (response, gold) in seen:
            return
        seen.add((response, gold))
        cases.append({"benchmark": bench, "example_id": pid, "kind": kind, "response": response, "gold": gold})

    all_answers = [_unwrap(g) for _, _, g in golds]
    for bench, pid, gold in golds:
        g = _unwrap(gold)
        add(bench, pid, "self", rng.choice(WRAPS).format(a=g), gold)
        add(bench, pid, "self_raw_gold", f"\\boxed{{{gold}}}", gold)
        variants = list(dict.fromkeys(_numeric_variants(g) + _latex_variants(g)))
        for variant in rng.sample(variants, min(len(variants), per_gold.get(bench, per_gold["*"]))):
            add(bench, pid, "variant", rng.choice(WRAPS).format(a=variant), gold)
        shapes = [("no_box", f"The final answer is {g}."), ("no_box_answer_line", f"Answer: {g}"),
                  ("truncated", f"Thus the answer is \\boxed{{{g}"),
                  ("cut_mid_box", f"so \\boxed{{{g[: max(1, len(g) // 2)]}"), ("fbox", f"\\fbox{{{g}}}"),
                  ("boxed_space", f"\\boxed {g}"), ("empty_box", "\\boxed{}"),
                  ("other_gold", f"\\boxed{{{rng.choice(all_answers)}}}")]
        for kind, response in rng.sample(shapes, 2):
            add(bench, pid, kind, response, gold)
    for answer, gold in HAND:
        for wrap in WRAPS[:2]:
            add("hand", "-", "hand", wrap.format(a=answer), gold)
    alphabet = list("()[]{},.^*+-/\\ =!|_'") + list("0123456789xyzabei") + ["\\frac", "\\sqrt", "\\pi",
                                                                       "\\text{", "\\left(", "\\cdot"]
    for bench, pid, gold in golds:  # random character-level mutations stress the parser path
        g = _unwrap(gold)
        for _ in range(2):
            chars = list(g)
            for _ in range(rng.randint(1, 3)):
                pos = rng.randint(0, len(chars))
                if chars and rng.random() < 0.4:
                    del chars[min(pos, len(chars) - 1)]
                else:
                    chars.insert(pos, rng.choice(alphabet))
            add(bench, pid, "mutation", rng.choice(WRAPS).format(a="".join(chars)), gold)
    return cases


def build_corpus_cases(paths: list[str]) -> list[dict]:
    """Cases from JSONL corpora of ``{"response", "gold", ...}`` records (see the module docstring)."""
    cases = []
    for path in paths:
        for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
            record = json.loads(line)
            response, gold = record["response"], str(record["gold"])
            at = response.rfind("\\boxed")
            tail = response[max(0, at - 200):] if at >= 0 else response[-300:]
            cases.append({"benchmark": record.get("benchmark", "-"), "example_id": record.get("id", f"{Path(path).name}:{i}"),
                          "kind": "real" if "/real/" in path else "verify-corpus", "response": tail, "gold": gold})
    return cases


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="folder with <NAME>/test.parquet for the nine benchmarks")
    p.add_argument("--reference", help="command running JustRL's grade_answer_verl on JSONL stdin -> stdout")
    p.add_argument("--out", help="golden JSONL to write")
    p.add_argument("--cases-only", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus", action="append", default=[], help="labelled response corpus (JSONL) to use instead")
    args = p.parse_args(argv)
    cases = build_corpus_cases(args.corpus) if args.corpus else build_cases(args.data_dir, args.seed)
    payload = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    if args.cases_only or not args.reference:
        sys.stdout.write(payload)
        return 0
    done = subprocess.run(shlex.split(args.reference), input=payload, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(rows) != len(cases):
        print(f"reference returned {len(rows)} verdicts for {len(cases)} cases", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    keep = ("benchmark", "example_id", "kind", "response", "gold", "reference", "reference_status")
    text = "".join(json.dumps({k: r[k] for k in keep}, ensure_ascii=False) + "\n" for r in rows)
    if out.suffix == ".gz":
        import gzip

        out.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    else:
        out.write_text(text, encoding="utf-8")
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["reference_status"]] = statuses.get(r["reference_status"], 0) + 1
    print(f"{len(rows)} cases -> {out} (reference status: {statuses}; "
          f"correct {sum(bool(r['reference']) for r in rows)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
