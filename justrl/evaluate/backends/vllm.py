"""The ``vllm`` backend: vLLM's offline engine (vLLM >= 0.8.5), one engine per GPU group, model loaded once.

* The parent process renders every prompt with the model's chat template
  (``apply_chat_template(..., add_generation_prompt=True)``, as JustRL's generation does), encodes it with
  ``add_special_tokens=False`` and submits ``TokensPrompt(prompt_token_ids=...)``. A string prompt would be
  tokenized by vLLM with special tokens added (vllm 0.8.5 ``inputs/preprocess.py``
  ``InputPreprocessor._tokenize_prompt`` passes ``add_special_tokens=None``, i.e. the tokenizer's default
  True; only ``LLM.chat`` passes False), so templates that emit their own BOS (DeepSeek-R1-Distill) would
  start every prompt with two. The ids are exactly the ``hf`` backend's.
* Before any engine starts, every request is checked against the model's context window
  (:mod:`justrl.evaluate.backends.context`): one line, exit 2, instead of hours of truncated samples.
* ``tensor_parallel_size`` GPUs per engine (default 1); ``data_parallel`` engines (default: visible GPUs
  // tensor_parallel_size). One engine runs in this process; several run in spawned, **non-daemonic**
  processes pinned to their GPUs (``CUDA_VISIBLE_DEVICES``): vLLM V1 starts an EngineCore child process
  (vllm 0.8.5 ``v1/utils.py`` ``BackgroundProcHandle``) and Python forbids children of daemonic
  processes. Requests are split round-robin and results stream back through one pipe per worker; a
  worker that dies without reporting (OOM kill, segfault) is noticed within seconds (exit code or closed
  pipe) and stops the run with one line naming its GPUs and exit code; every delivered sample is stored.
* All requests are submitted at once (``LLMEngine.add_request``), each with its own
  ``SamplingParams(n=1, seed=..., output_kind=FINAL_ONLY)``; ``FINAL_ONLY`` makes ``step()`` build
  outputs only for finished requests (the default CUMULATIVE rebuilds every running request's output
  on every step; ``LLM.generate`` sets FINAL_ONLY itself in ``_validate_and_add_requests``).
* ``close()`` shuts the engine down and releases its GPU memory (EngineCore shutdown, then vLLM's own
  ``cleanup_dist_env_and_memory``: model-parallel groups destroyed, ``gc.collect()``,
  ``torch.cuda.empty_cache()``), so a vLLM judge engine can start in the same process afterwards.

Seeds: per-request seeds reproduce a sample only when the batch is scheduled identically (same
requests, same order, same hardware, same vLLM) or with ``VLLM_BATCH_INVARIANT=1``; see docs/evaluate.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import queue as queue_module
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from justrl.evaluate.backends import BackendError, missing_extra, template_sha256
from justrl.evaluate.backends.base import GenerationRequest, GenerationResult, SamplingParams
from justrl.evaluate.backends.context import check_context, model_context_limit

MIN_VERSION = (0, 8, 5)
POLL_SECONDS = 1.0  # how often the parent checks that data-parallel workers are alive
DEATH_GRACE_SECONDS = 2.0  # after a worker is seen dead, how long its last messages may take to arrive


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise missing_extra("vllm", "vllm") from None
    return vllm


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in str(version).split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def require_vllm(minimum: tuple[int, ...] = MIN_VERSION):
    """The installed vllm module, or :class:`BackendError` naming the install command / the version floor."""
    vllm = _import_vllm()
    version = getattr(vllm, "__version__", "0")
    if _version_tuple(version) < minimum:
        raise BackendError(f"vLLM {version} is too old; justrl needs vLLM >= {'.'.join(map(str, minimum))} "
                           f"(pip install -U 'vllm>={'.'.join(map(str, minimum))}')")
    return vllm


def _visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


# -- engine arguments ----------------------------------------------------------------------------------


def parse_engine_args(pairs: list[str] | None) -> dict:
    """``["KEY=VALUE", ...]`` (``--engine-arg``) as a dict: VALUE parsed as JSON (numbers, true/false,
    null, lists, objects), else kept as a string; dashes in KEY become underscores."""
    out = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise BackendError(f"--engine-arg {pair!r} is not KEY=VALUE (e.g. --engine-arg max_num_seqs=256)")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def engine_arg_names() -> set[str] | None:
    """The keyword arguments ``vllm.LLM`` accepts (the fields of ``vllm.engine.arg_utils.EngineArgs``,
    which ``LLM.__init__`` builds from its keywords), or None when they cannot be read."""
    try:
        from vllm.engine.arg_utils import EngineArgs
    except Exception:  # noqa: BLE001 - any import failure: skip the check, vLLM validates itself
        return None
    if dataclasses.is_dataclass(EngineArgs):
        return {f.name for f in dataclasses.fields(EngineArgs)}
    return None


def check_engine_args(args: dict, known: set[str] | None = None) -> None:
    """Reject keys vLLM does not know (one line with the closest names); ``model`` is set by ``--model``."""
    if "model" in args:
        raise BackendError("--engine-arg model=... is not allowed; pass the model with --model")
    known = engine_arg_names() if known is None else known
    if not known:
        return
    for key in args:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see vllm.engine.arg_utils.EngineArgs"
            raise BackendError(f"unknown vLLM engine argument {key!r}{hint}")


# -- requests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready for the engine: the rendered prompt and its token ids (no special tokens added)."""

    key: str
    prompt_ids: list[int]
    prompt_text: str
    sampling: SamplingParams


def prepare_requests(tokenizer, requests: list[GenerationRequest]) -> list[PreparedRequest]:
    """Render each chat with the tokenizer's template and encode it exactly as the ``hf`` backend does."""
    out = []
    for req in requests:
        text = tokenizer.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        out.append(PreparedRequest(req.key, ids, text, req.sampling))
    return out


def vllm_sampling_params(vllm, sampling: SamplingParams):
    """vLLM ``SamplingParams`` for one sample (n=1, its seed, outputs built only when finished)."""
    from vllm.sampling_params import RequestOutputKind

    return vllm.SamplingParams(n=1, temperature=sampling.temperature, top_p=sampling.top_p,
                               max_tokens=sampling.max_tokens, seed=sampling.seed,
                               output_kind=RequestOutputKind.FINAL_ONLY)


# -- one engine ----------------------------------------------------------------------------------------


class _Engine:
    """One vLLM engine in this process."""

    def __init__(self, model: str, engine_args: dict) -> None:
        self.vllm = require_vllm()
        self.llm = self.vllm.LLM(model=model, **engine_args)
        self._submitted = 0  # request ids stay unique across calls (a judge calls generate many times)

    def run(self, items: list[PreparedRequest], on_result: Callable[[GenerationResult], None]) -> None:
        from vllm.inputs import TokensPrompt

        by_id = {str(self._submitted + i): item for i, item in enumerate(items)}
        self._submitted += len(items)
        engine = getattr(self.llm, "llm_engine", None)
        if engine is not None and all(hasattr(engine, a) for a in ("add_request", "step", "has_unfinished_requests")):
            for request_id, item in by_id.items():
                engine.add_request(request_id, TokensPrompt(prompt_token_ids=list(item.prompt_ids)),
                                   vllm_sampling_params(self.vllm, item.sampling))
            while engine.has_unfinished_requests():
                for output in engine.step():
                    if output.finished:
                        on_result(_result(by_id[output.request_id], output))
        else:  # no engine loop exposed: one blocking call (results stored when it returns)
            ids = list(by_id)
            outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(by_id[i].prompt_ids)) for i in ids],
                                        [vllm_sampling_params(self.vllm, by_id[i].sampling) for i in ids],
                                        use_tqdm=False)
            for request_id, output in zip(ids, outputs, strict=True):
                on_result(_result(by_id[request_id], output))

    def close(self) -> None:
        shutdown_llm(self)


def shutdown_llm(owner, attr: str = "llm", *, destroy_distributed: bool = True) -> None:
    """Stop the ``vllm.LLM`` held in ``owner.<attr>`` (set to None: no reference may survive, or the
    garbage collector cannot free it) and give its GPU memory back now, not whenever gc runs.

    Order as vLLM's own tests clean up: stop the EngineCore (V1 ``EngineCoreClient.shutdown``: the
    background process is terminated, vllm 0.8.5 ``v1/utils.py`` ``shutdown``), drop the engine, then
    ``vllm.distributed.parallel_state.cleanup_dist_env_and_memory`` (destroys the model-parallel groups
    and vLLM's process group, ``gc.collect()``, ``torch.cuda.empty_cache()``). ``destroy_distributed=False``
    keeps torch.distributed alone (a trainer's process group that vLLM joined)."""
    import gc

    llm = getattr(owner, attr, None)
    setattr(owner, attr, None)
    if llm is None:
        return
    engine = getattr(llm, "llm_engine", None)
    core = getattr(engine, "engine_core", None)
    if core is not None and hasattr(core, "shutdown"):
        try:
            core.shutdown()
        except Exception:  # noqa: BLE001 - an engine already dead is shut down enough
            pass
    del engine, core, llm
    gc.collect()
    if destroy_distributed:
        try:
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
        except ImportError:
            cleanup_dist_env_and_memory = None
        if cleanup_dist_env_and_memory is not None:
            try:
                cleanup_dist_env_and_memory()
            except Exception:  # noqa: BLE001 - cleanup after the work is done must not fail the run
                pass
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _result(item: PreparedRequest, output) -> GenerationResult:
    completion = output.outputs[0]
    return GenerationResult(key=item.key, text=completion.text, finish_reason=completion.finish_reason or "stop",
                            prompt_tokens=len(item.prompt_ids), completion_tokens=len(completion.token_ids),
                            prompt_text=item.prompt_text)


# -- data-parallel workers -----------------------------------------------------------------------------


def _worker(index: int, gpus: str, model: str, engine_args: dict, items: list[PreparedRequest], conn) -> None:
    """Spawned, non-daemonic process: one engine on ``gpus``; sends (kind, payload) over its own pipe,
    kind "result", "error" or "done" (synchronously: a sent result is delivered even if the process is
    killed right after). SIGTERM exits through Python's cleanup so the engine's own child stops too."""
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engine = None
    try:
        engine = _Engine(model, engine_args)
        engine.run(items, lambda result: conn.send(("result", result)))
        conn.send(("done", None))
    except BaseException as exc:  # report anything, the parent decides
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        try:
            conn.send(("error", f"{type(exc).__name__}: {first}" if first else type(exc).__name__))
        except OSError:
            pass
    finally:
        if engine is not None:
            engine.close()
        conn.close()


def _read_pipe(index: int, conn, inbox: queue_module.Queue) -> None:
    """Thread: forward one worker's messages to ``inbox`` until its pipe closes (then ("eof", None))."""
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            inbox.put((index, "eof", None))
            return
        inbox.put((index, kind, payload))


def _stop(procs) -> None:
    """Terminate (then kill) every still-running worker and reap them all."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


# -- the backend ---------------------------------------------------------------------------------------


class VLLMBackend:
    """vLLM offline generation; ``engine_args`` go to ``vllm.LLM`` (e.g. gpu_memory_utilization,
    max_model_len, dtype, enforce_eager; any field of vLLM's ``EngineArgs``).

    The tokenizer and model config are read here (cheap, no GPU); engines start on the first
    :meth:`generate`, after the context check."""

    name = "vllm"

    def __init__(self, model: str | None, *, revision: str | None = None, tensor_parallel_size: int = 1,
                 data_parallel: int | None = None, seed: int = 0, **engine_args) -> None:
        if not model:
            raise BackendError("the vllm backend needs --model (a local folder or a hub id)")
        vllm = require_vllm()
        check_engine_args(engine_args)
        self.model = model
        self.revision = revision
        self.engine_args = {"revision": revision, "tensor_parallel_size": tensor_parallel_size, "seed": seed,
                            **engine_args}
        self.vllm_version = str(getattr(vllm, "__version__", None))
        self.tokenizer, self.config = _load_tokenizer_and_config(model, self.engine_args)
        self.limit = model_context_limit(self.config, self.engine_args.get("max_model_len"))
        gpus = _visible_gpus()
        tp = max(1, int(self.engine_args["tensor_parallel_size"]))
        groups = max(1, len(gpus) // tp)
        self.data_parallel = max(1, min(groups, data_parallel or groups))
        self.gpu_groups = [",".join(gpus[i * tp:(i + 1) * tp]) for i in range(self.data_parallel)]
        self._engine: _Engine | None = None

    def generate(self, requests: list[GenerationRequest],
                 on_result: Callable[[GenerationResult], None]) -> None:
        items = prepare_requests(self.tokenizer, requests)
        check_context(((len(i.prompt_ids), i.sampling.max_tokens) for i in items), self.limit, model=self.model)
        if not items:
            return
        if self.data_parallel == 1:
            if self._engine is None:
                self._engine = _Engine(self.model, self.engine_args)
            self._engine.run(items, on_result)
            return
        self._generate_parallel(items, on_result)

    def _generate_parallel(self, items: list[PreparedRequest], on_result) -> None:
        """One spawned worker per GPU group, each with its own pipe read by a thread of this process.
        A worker that exits without "done" (its exit code seen, or its pipe closed) stops the run after a
        short grace period for the messages it sent before dying."""
        import multiprocessing as mp
        import threading
        import time

        ctx = mp.get_context("spawn")
        inbox: queue_module.Queue = queue_module.Queue()
        parts = [items[i::self.data_parallel] for i in range(self.data_parallel)]
        workers, readers = {}, []
        done: set[int] = set()
        dead_since: dict[int, float] = {}
        try:
            for i, (gpus, part) in enumerate(zip(self.gpu_groups, parts, strict=True)):
                if not part:
                    continue
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(i, gpus, self.model, self.engine_args, part, writer),
                                   name=f"justrl-vllm-{i}", daemon=False)
                proc.start()
                writer.close()  # only the worker holds the write end: its death closes the pipe
                workers[i] = proc
                readers.append(reader)
                threading.Thread(target=_read_pipe, args=(i, reader, inbox), daemon=True,
                                 name=f"justrl-vllm-pipe-{i}").start()
            while len(done) < len(workers):
                try:
                    index, kind, payload = inbox.get(timeout=POLL_SECONDS)
                except queue_module.Empty:
                    index, kind = None, None
                if kind == "result":
                    on_result(payload)
                elif kind == "done":
                    done.add(index)
                elif kind == "error":
                    raise BackendError(f"the vLLM engine on GPU {self.gpu_groups[index]} failed ({payload}); "
                                       f"every finished sample is stored, rerun the same command to resume")
                elif kind == "eof" and index not in done:
                    dead_since.setdefault(index, time.monotonic())
                now = time.monotonic()
                for i, proc in workers.items():
                    if i not in done and proc.exitcode is not None:
                        dead_since.setdefault(i, now)
                for i, since in dead_since.items():
                    if i not in done and now - since >= DEATH_GRACE_SECONDS:
                        workers[i].join(timeout=5)
                        code = workers[i].exitcode
                        how = ("still running with its pipe closed" if code is None else
                               f"killed by signal {-code}" if code < 0 else f"exit code {code}")
                        raise BackendError(f"the vLLM worker {i} on GPU {self.gpu_groups[i]} died ({how}) before "
                                           f"finishing; every finished sample is stored, rerun the same command "
                                           f"to resume")
        finally:
            _stop(list(workers.values()))
            for reader in readers:
                reader.close()

    def describe(self) -> dict:
        """Provenance, computed in this process (also with data parallel, where engines live in workers)."""
        return {"backend": self.name, "model": self.model, "revision": self.revision,
                "chat_template_sha256": template_sha256(getattr(self.tokenizer, "chat_template", None)),
                "tensor_parallel_size": self.engine_args["tensor_parallel_size"],
                "data_parallel": self.data_parallel,
                "context_limit": None if self.limit is None else self.limit.tokens,
                "engine_args": {k: v for k, v in self.engine_args.items() if _jsonable(v)},
                "versions": {"vllm": self.vllm_version}}

    def close(self) -> None:
        """Shut the in-process engine down and free its GPU memory (workers are gone after generate)."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _load_tokenizer_and_config(model: str, engine_args: dict):
    """The tokenizer vLLM will use (``tokenizer`` engine arg or the model) and the model's HF config."""
    try:
        from transformers import AutoConfig, AutoTokenizer
    except ImportError:
        raise missing_extra("vllm", "transformers") from None
    trust = bool(engine_args.get("trust_remote_code", False))
    source = engine_args.get("tokenizer") or model
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, revision=engine_args.get("tokenizer_revision") or engine_args.get("revision"),
            trust_remote_code=trust)
        config = AutoConfig.from_pretrained(model, revision=engine_args.get("revision"), trust_remote_code=trust)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(f"could not load model {model!r}: {first}") from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise BackendError(f"model {model} has no chat template; the justrl protocol renders prompts with the "
                           f"model's own template (use an instruct/chat model)")
    return tokenizer, config
