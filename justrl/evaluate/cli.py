"""``justrl-eval``: generate, resume, grade and merge evaluation runs (see docs/evaluate.md).

    justrl-eval --model M [--backend auto|vllm|hf|openai] [--benchmarks all] [--n 8 | --n AIME24=64,...]
                [--temperature T] [--top-p P] [--max-tokens K] [--limit L] [--seed S] [--shard i/n]
                [--data-dir DIR] [--output-dir OUT]
                [--backend vllm: --enforce-eager --engine-arg KEY=VALUE ...]
                [--grader lenient|strict|justrl] [--judge-model M --judge-backend B] [--judge-question empty|real]
    justrl-eval grade OUT [--grader lenient|strict|justrl] [--judge-question empty|real] [--compare]
                [--output-dir DIR] [--judge-model M --judge-backend B]   (--mode: alias of --grader)
    justrl-eval merge SHARD_DIR... --output-dir OUT [grading flags as for grade]
    justrl-eval list

User errors print one line and exit 2; an interrupted run keeps every stored sample (exit 130).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

SUBCOMMANDS = ("run", "grade", "merge", "list")


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="justrl-eval", description="Evaluate a model with the JustRL protocol "
                                "(generate, store resumably, grade). Subcommands: grade, merge, list.")
    p.add_argument("--model", help="local folder, .gguf file, hub id, or (openai) the served model name")
    p.add_argument("--backend", default="auto", choices=("auto", "vllm", "hf", "openai"),
                   help="auto: vllm when installed and a GPU is visible, else hf")
    p.add_argument("--benchmarks", default="all", help="comma-separated names or 'all' (see justrl-eval list)")
    p.add_argument("--preset", default="justrl", help="protocol preset (default: justrl, the paper's)")
    p.add_argument("--n", help="samples per problem: 8, or per benchmark AIME24=64,AMC23=16 (default: preset's)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float)
    p.add_argument("--max-tokens", type=int, help="max new tokens per sample (default 31744)")
    p.add_argument("--limit", type=int, help="first L problems of each benchmark")
    p.add_argument("--seed", type=int, help="master seed for the per-sample seeds (default 0)")
    p.add_argument("--shard", help="i/n: generate only shard i of n into OUT/shard-i-of-n (then: justrl-eval merge)")
    p.add_argument("--data-dir", help="folder in JustRL's data/<NAME>/test.parquet layout")
    p.add_argument("--cache-dir", help="benchmark cache (default $JUSTRL_CACHE or ~/.cache/justrl)")
    p.add_argument("--offline", action="store_true", help="never download (benchmarks or models)")
    p.add_argument("--output-dir", help="run folder (default justrl_eval_outputs/<model name>)")
    p.add_argument("--no-grade", action="store_true", help="generate only")
    p.add_argument("--quiet", action="store_true", help="no live display or summary table")
    _grading_args(p)
    g = p.add_argument_group("hf backend")
    g.add_argument("--revision", help="model revision (hub branch, tag or commit)")
    g.add_argument("--batch-size", type=int, help="sequences decoded together (default: 16 on GPU, 4 on CPU)")
    g.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    g.add_argument("--dtype", help="float32, bfloat16, float16 (default: bfloat16 on GPU, float32 on CPU)")
    o = p.add_argument_group("openai backend")
    o.add_argument("--base-url", help="e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)")
    o.add_argument("--api-key", help="default $OPENAI_API_KEY")
    o.add_argument("--concurrency", type=int, default=16)
    o.add_argument("--max-retries", type=int, default=6)
    v = p.add_argument_group("vllm backend")
    v.add_argument("--tensor-parallel-size", type=int, default=1)
    v.add_argument("--data-parallel", type=int, help="engines (default: visible GPUs / tensor parallel size)")
    v.add_argument("--gpu-memory-utilization", type=float)
    v.add_argument("--max-model-len", type=int)
    v.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs (JustRL's generation setting)")
    v.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="any vllm.LLM / EngineArgs argument, repeatable; VALUE is JSON (256, true, {...}) or a "
                        "string, e.g. --engine-arg max_num_seqs=256")
    return p


def _grading_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grading")
    graders = ("lenient", "strict", "justrl")
    g.add_argument("--grader", "--mode", dest="mode", default="lenient", type=str.lower, choices=graders,
                   help="primary grader: lenient (default), strict (the DAPO training reward) or justrl (the JustRL "
                        "paper's rule grader, then --judge-model on every rule failure as the paper did); every "
                        "report also compares all three")
    g.add_argument("--workers", type=int, help="grading processes (default: CPU count)")
    g.add_argument("--judge-model", help="LLM judge for rule-rejected answers, e.g. opencompass/CompassVerifier-3B")
    g.add_argument("--judge-backend", default="auto", choices=("auto", "vllm", "hf", "openai"))
    g.add_argument("--judge-base-url", help="for --judge-backend openai")
    g.add_argument("--judge-question", default="empty", type=str.lower, choices=("empty", "real"),
                   help="with --grader justrl: the question in the judge prompt; empty reproduces JustRL (its rows "
                        "have no question key), real sends the problem")


def _auto_backend() -> str:
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return "hf"
    try:
        import torch

        return "vllm" if torch.cuda.is_available() else "hf"
    except ImportError:
        return "hf"


def _backend(name: str, model: str | None, args, *, judge: bool = False):
    """The backend for ``model``; hf and vllm are built lazily (a complete run resumes without loading the
    model), after the cheap checks (model path, installed extra) so bad input fails fast."""
    from justrl.evaluate.backends import LazyBackend

    name = _auto_backend() if name == "auto" else name
    if not judge and name != "vllm" and (getattr(args, "engine_arg", None) or getattr(args, "enforce_eager", False)):
        from justrl.evaluate.backends import BackendError

        raise BackendError(f"--engine-arg and --enforce-eager apply to the vllm backend only (the backend is {name}); "
                           f"drop them or pass --backend vllm")
    if name == "hf":
        from justrl.evaluate.backends.hf import resolve_model_source

        resolve_model_source(model)
        return LazyBackend("hf", str(model), lambda: _build(name, model, args, judge))
    if name == "vllm":
        from justrl.evaluate.backends.vllm import check_engine_args, parse_engine_args, require_vllm

        require_vllm()
        check_engine_args(parse_engine_args(getattr(args, "engine_arg", None)) if not judge else {})
        if not model:
            return _build(name, model, args, judge)  # raises the one-line error
        return LazyBackend("vllm", str(model), lambda: _build(name, model, args, judge))
    return _build(name, model, args, judge)


def _build(name: str, model: str | None, args, judge: bool):
    from justrl.evaluate.backends import make_backend

    if name == "hf":
        return make_backend("hf", model=model, revision=None if judge else args.revision,
                            batch_size=getattr(args, "batch_size", None), device=getattr(args, "device", None),
                            dtype=getattr(args, "dtype", None), offline=True if args.offline else None)
    if name == "openai":
        return make_backend("openai", model=model,
                            base_url=args.judge_base_url if judge else args.base_url,
                            api_key=getattr(args, "api_key", None), concurrency=getattr(args, "concurrency", 16),
                            max_retries=getattr(args, "max_retries", 6))
    return make_backend("vllm", model=model, revision=None if judge else getattr(args, "revision", None),
                        tensor_parallel_size=getattr(args, "tensor_parallel_size", 1),
                        data_parallel=getattr(args, "data_parallel", None), **_vllm_engine_args(args, judge))


def _vllm_engine_args(args, judge: bool) -> dict:
    """vllm.LLM keywords from the flags: --gpu-memory-utilization, --max-model-len, --enforce-eager, then
    every --engine-arg KEY=VALUE (which wins). The judge engine gets none of the generation engine's
    (``grade`` has no such flags; a judge is a different model)."""
    if judge:
        return {}
    from justrl.evaluate.backends.vllm import parse_engine_args

    out = {k: getattr(args, k, None) for k in ("gpu_memory_utilization", "max_model_len")}
    out = {k: v for k, v in out.items() if v is not None}
    if getattr(args, "enforce_eager", False):
        out["enforce_eager"] = True
    out.update(parse_engine_args(getattr(args, "engine_arg", None)))
    return out


def _judge(args):
    if not args.judge_model:
        return None
    from justrl.evaluate.judge import Judge

    args.offline = getattr(args, "offline", False)
    return Judge(_backend(args.judge_backend, args.judge_model, args, judge=True), model=args.judge_model)


def _cmd_run(argv: list[str]) -> int:
    from justrl.evaluate.protocol import get_preset, parse_n
    from justrl.evaluate.runner import run_eval
    from justrl.evaluate.store import Shard

    args = _run_parser().parse_args(argv)
    if args.offline:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from justrl.benchmarks import resolve_benchmarks

    resolve_benchmarks(args.benchmarks)  # fail on a bad name before loading any model
    n, per = parse_n(args.n)
    protocol = get_preset(args.preset).with_overrides(
        n=n, n_per_benchmark=per or None, temperature=args.temperature, top_p=args.top_p,
        max_tokens=args.max_tokens, limit=args.limit, seed=args.seed)
    shard = Shard.parse(args.shard) if args.shard else None
    if not args.model:
        from justrl.evaluate.backends import BackendError

        raise BackendError("no model given; pass --model (a local folder, a .gguf file or a hub id like org/name)")
    out = Path(args.output_dir) if args.output_dir else Path("justrl_eval_outputs") / Path(args.model.rstrip("/")).name
    judge = _judge(args)
    backend = _backend(args.backend, args.model, args)
    try:
        run = run_eval(backend, args.benchmarks, output_dir=out, protocol=protocol, data_dir=args.data_dir,
                       cache_dir=args.cache_dir, offline=args.offline, shard=shard, grade=False,
                       progress=not args.quiet, command=["justrl-eval", *argv])
    finally:
        backend.close()  # the generation engine gives its GPU memory back before a judge engine starts
    results = None
    if not args.no_grade and not (shard and shard.count > 1):
        results = _grade_folder(args, run.out_dir, judge)
    print(f"{run.out_dir}: {run.planned} samples planned, {run.reused} already stored, {run.generated} generated"
          + ("" if results is None else f"; results in {_results_path(results, run.out_dir)}"), file=sys.stderr)
    return 0


def _results_path(results: dict, out_dir: Path) -> str:
    """Where grading wrote results.json (another name when --grader is not the default or a foreign
    file was kept: grade_run reports it in ``results["outputs"]["results"]``)."""
    return str((results.get("outputs") or {}).get("results") or out_dir / "results.json")


def _grade_folder(args, out_dir: Path, judge):
    """Grade a finished run folder after generation (the generation backend is closed by then, so a vLLM
    judge engine gets the GPU), with the same grading flags as ``justrl-eval grade``; prints reading
    warnings, and the summary unless --quiet."""
    from justrl.evaluate.grading import grade_run, print_summary, print_warnings

    results = grade_run(out_dir, grader=args.mode, judge=judge, judge_question=getattr(args, "judge_question", "empty"),
                        workers=args.workers, progress=not args.quiet)
    print_warnings(results)
    if not args.quiet:
        print_summary(results)
    return results


def _cmd_grade(argv: list[str]) -> int:
    from justrl.evaluate.grading import grade_run, print_summary, print_warnings

    p = argparse.ArgumentParser(prog="justrl-eval grade", description="Grade a run folder (justrl-eval or "
                                "JustRL JSONL outputs) without generating.")
    p.add_argument("out_dir")
    p.add_argument("--published-model", help="published JustRL row to compare with (default: run.json's model)")
    p.add_argument("--output-dir", help="write the grading outputs here instead of OUT_DIR (e.g. a read-only run)")
    p.add_argument("--compare", action="store_true",
                   help="also write the samples the graders disagree on to graded[.<grader>]/disagreements.jsonl")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--offline", action="store_true")
    _grading_args(p)
    args = p.parse_args(argv)
    results = grade_run(Path(args.out_dir), grader=args.mode, judge=_judge(args), judge_question=args.judge_question,
                        workers=args.workers, progress=not args.quiet, published_model=args.published_model,
                        output_dir=Path(args.output_dir) if args.output_dir else None, compare=args.compare)
    print_warnings(results)
    if not args.quiet:
        print_summary(results)
    outputs = results.get("outputs") or {}
    extra = (f"; {results.get('disagreements_written', 0)} disagreements in {outputs['disagreements']}"
             if "disagreements" in outputs else "")
    print(f"results in {outputs.get('results')}, report in {outputs.get('report')}{extra}", file=sys.stderr)
    return 0


def _cmd_merge(argv: list[str]) -> int:
    from justrl.evaluate.store import merge_runs

    p = argparse.ArgumentParser(prog="justrl-eval merge", description="Join shard folders into one run and grade it.")
    p.add_argument("shards", nargs="+", help="shard folders (OUT/shard-0-of-4 ...)")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--allow-partial", action="store_true", help="merge even if planned samples are missing")
    p.add_argument("--no-grade", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--offline", action="store_true")
    _grading_args(p)
    args = p.parse_args(argv)
    report = merge_runs(args.shards, args.output_dir, allow_partial=args.allow_partial)
    print(f"merged {sum(report.rows.values())} samples into {args.output_dir} ({report.duplicates} duplicates dropped"
          + (f", {sum(report.missing.values())} missing" if any(report.missing.values()) else "") + ")",
          file=sys.stderr)
    if not args.no_grade:
        results = _grade_folder(args, Path(args.output_dir), _judge(args))
        print(f"results in {_results_path(results, Path(args.output_dir))}", file=sys.stderr)
    return 0


def _cmd_list(argv: list[str]) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from justrl.benchmarks import BENCHMARKS, cache_root

    p = argparse.ArgumentParser(prog="justrl-eval list", description="The benchmarks justrl-eval knows.")
    p.add_argument("--cache-dir")
    args = p.parse_args(argv)
    table = Table(box=box.SIMPLE_HEAD, title="JustRL benchmarks", title_justify="left")
    for col in ("name", "problems", "default N", "cached", "source"):
        table.add_column(col, justify="right" if col in ("problems", "default N") else "left",
                         no_wrap=col != "source", overflow="fold")
    root = cache_root(args.cache_dir) / "benchmarks"
    for spec in BENCHMARKS.values():
        table.add_row(spec.name, str(spec.problems), str(spec.default_samples),
                      "yes" if (root / spec.relpath).is_file() else "no", spec.url)
    Console().print(table)
    return 0


def _user_errors() -> tuple[type[BaseException], ...]:
    from justrl.benchmarks import BenchmarkError
    from justrl.evaluate.backends import BackendError
    from justrl.evaluate.grading import GradingError
    from justrl.evaluate.protocol import ProtocolError
    from justrl.evaluate.runner import EvalError
    from justrl.evaluate.store import StoreError

    return BenchmarkError, BackendError, GradingError, ProtocolError, EvalError, StoreError


@contextlib.contextmanager
def _one_line_data_warnings():
    """Show :class:`BenchmarkDataWarning` (a local file differs from the pinned one) as one stderr line,
    like the errors; other warnings keep Python's format."""
    import warnings

    from justrl.benchmarks import BenchmarkDataWarning

    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, BenchmarkDataWarning):
                print(f"justrl-eval: warning: {message}", file=sys.stderr)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted, 143 terminated)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "run"
    if argv and argv[0] in SUBCOMMANDS:
        argv = argv[1:]
    handler = {"run": _cmd_run, "grade": _cmd_grade, "merge": _cmd_merge, "list": _cmd_list}[command]
    errors = _user_errors()
    from justrl.evaluate.interrupts import Terminated, install

    restore_signals = install()
    try:
        with _one_line_data_warnings():
            return handler(argv)
    except errors as exc:
        print(f"justrl-eval: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("justrl-eval: interrupted; every finished sample is stored, rerun the same command to resume",
              file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        restore_signals()


if __name__ == "__main__":
    sys.exit(main())
