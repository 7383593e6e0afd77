"""The core of the vLLM stand-in (see tests/fakes/README.md). Behaviours reproduced, with their source:

* String prompts are tokenized with special tokens added (vllm 0.8.5 ``inputs/preprocess.py``
  ``_tokenize_prompt``: ``add_special_tokens=None`` -> the tokenizer's default); ``TokensPrompt`` ids are
  used as given.
* V1 multiprocessing (``VLLM_ENABLE_V1_MULTIPROCESSING``, default 1, read when the engine is built,
  ``v1/engine/llm_engine.py``): the EngineCore runs in a child process started with
  ``multiprocessing`` (``v1/utils.py`` ``BackgroundProcHandle``), so building an engine inside a daemonic
  process fails ("daemonic processes are not allowed to have children"); the engine's GPU memory
  belongs to that child and is given back when it is shut down (``engine_core.shutdown()``) or when the
  garbage collector finalizes the client. ``LLM.apply_model`` needs ``llm_engine.model_executor``, which
  only the in-process engine has (0.8.5 ``entrypoints/llm.py`` ``apply_model``).
* Device: the uni-process executor puts the worker on local rank 0 (``executor/uniproc_executor.py``
  ``UniProcExecutor._init_executor``); ``distributed_executor_backend="external_launcher"`` reads RANK
  and LOCAL_RANK from the environment and requires VLLM_ENABLE_V1_MULTIPROCESSING=0
  (``ExecutorWithExternalLauncher._init_executor``); the worker's device is ``cuda:<local rank>``.
* Memory: each engine takes ``gpu_memory_utilization`` of its device; one that does not fit raises
  (CUDA out of memory).
* Sleep mode (``enable_sleep_mode=True``): ``sleep(level)`` releases weights and KV cache (level 2 also
  forgets the weights' content, ``v1/worker/gpu_worker.py`` ``sleep``); ``wake_up(tags=None)``
  re-allocates everything, ``tags=["weights"]`` / ``["kv_cache"]`` one pool (``tags`` exists from
  0.8.5 on). Generating needs both pools and valid weights; ``load_weights`` needs the weights pool.
* ``SamplingParams.output_kind`` defaults to CUMULATIVE: ``LLMEngine.step()`` then builds an output for
  every running request on every step; FINAL_ONLY only for finished ones (``LLM.generate`` sets
  FINAL_ONLY itself, ``_validate_and_add_requests``).
* Log-probs of sampled tokens: raw (log-softmax of the unscaled logits, 0.8.5 ``v1/sample/sampler.py``)
  unless ``logprobs_mode="processed_logprobs"`` (an engine argument in newer versions, e.g. 0.33.0):
  then after temperature and top-p.
* Generation stops at ``max_model_len`` (finish reason "length"); longer prompts raise ValueError.

The "model" is a deterministic function of the previous token; outputs are nonsense by design.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import multiprocessing
import os
import random
import sys
import time
import weakref
from pathlib import Path

EVENTS: list[tuple] = []  # what engines did, in order (tests read and clear it)
GPU_USED: dict[str, float] = {}  # device -> fraction of its memory held by engines of this process
_VERSION = [os.environ.get("FAKE_VLLM_VERSION", "0.8.5")]


def version() -> str:
    return _VERSION[0]


def _vtuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3])


def engine_args_class():
    """EngineArgs of the faked version (a dataclass, as vLLM's)."""
    fields = [("model", str), ("tokenizer", str | None, None), ("revision", str | None, None),
              ("tokenizer_revision", str | None, None), ("trust_remote_code", bool, False),
              ("tensor_parallel_size", int, 1), ("dtype", str, "auto"), ("seed", int | None, None),
              ("gpu_memory_utilization", float, 0.9), ("max_model_len", int | None, None),
              ("enforce_eager", bool | None, None), ("enable_sleep_mode", bool, False),
              ("enable_prefix_caching", bool | None, None), ("max_num_seqs", int | None, None),
              ("max_num_batched_tokens", int | None, None), ("distributed_executor_backend", str | None, None),
              ("disable_log_stats", bool, True)]
    if _vtuple(version()) >= (0, 10, 0):
        fields.append(("logprobs_mode", str, "raw_logprobs"))
    return dataclasses.make_dataclass("EngineArgs", [f if len(f) == 2 else (f[0], f[1], dataclasses.field(default=f[2]))
                                                     for f in fields])


def set_version(text: str) -> None:
    """Fake another vLLM version (``vllm.__version__`` and the EngineArgs fields follow)."""
    _VERSION[0] = text
    sys.modules["vllm"].__version__ = text
    if "vllm.engine.arg_utils" in sys.modules:
        sys.modules["vllm.engine.arg_utils"].EngineArgs = engine_args_class()


class RequestOutputKind(enum.Enum):
    CUMULATIVE = 0
    DELTA = 1
    FINAL_ONLY = 2


@dataclasses.dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = 16
    seed: int | None = None
    logprobs: int | None = None
    output_kind: RequestOutputKind = RequestOutputKind.CUMULATIVE


@dataclasses.dataclass
class Logprob:
    logprob: float


@dataclasses.dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None
    finish_reason: str | None


@dataclasses.dataclass
class RequestOutput:
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool


def _engine_core_main(parent_pid: int) -> None:  # the EngineCore child: lives until terminated
    while os.getppid() == parent_pid:
        time.sleep(0.2)


def _release(device: str, share: float, proc) -> None:
    GPU_USED[device] = max(0.0, GPU_USED.get(device, 0.0) - share)
    if proc is not None and proc.is_alive():
        proc.terminate()
        proc.join(5)
    EVENTS.append(("released", device))


class _EngineCore:
    def __init__(self, finalizer) -> None:
        self._finalizer = finalizer

    def shutdown(self) -> None:
        EVENTS.append(("shutdown",))
        self._finalizer()


class _Request:
    def __init__(self, request_id, prompt_ids, params, rng) -> None:
        self.request_id, self.prompt_ids, self.params, self.rng = request_id, prompt_ids, params, rng
        self.tokens: list[int] = []
        self.logprobs: list[dict[int, Logprob]] = []
        self.finish_reason: str | None = None


class _LLMEngine:
    """The engine loop (add_request / step / has_unfinished_requests) of vLLM V1's LLMEngine."""

    def __init__(self, llm, multiprocess: bool) -> None:
        self.llm = llm  # a reference cycle, as in vLLM: only the garbage collector frees a dropped LLM
        self.running: dict[str, _Request] = {}
        self.outputs_built = 0
        if not multiprocess:
            self.model_executor = llm  # for apply_model (in-process only)

    def add_request(self, request_id, prompt, params, **_) -> None:
        llm = self.llm
        if isinstance(prompt, str):
            ids = list(llm.tokenizer.encode(prompt))  # special tokens added, as vLLM does for text prompts
        else:
            ids = list(prompt["prompt_token_ids"])
        if len(ids) > llm.max_model_len:
            raise ValueError(f"The decoder prompt (length {len(ids)}) is longer than the maximum model length "
                             f"of {llm.max_model_len}.")
        EVENTS.append(("add_request", request_id, tuple(ids)))
        rng = random.Random(params.seed) if params.seed is not None else llm.rng
        self.running[request_id] = _Request(request_id, ids, params, rng)

    def has_unfinished_requests(self) -> bool:
        return bool(self.running)

    def step(self) -> list[RequestOutput]:
        llm = self.llm
        llm._check_awake()
        limit = int(os.environ.get("FAKE_VLLM_EXIT_AFTER_STEPS", "0"))
        gpu = os.environ.get("FAKE_VLLM_EXIT_ON_GPU")
        if limit and gpu == os.environ.get("CUDA_VISIBLE_DEVICES"):
            llm.steps = getattr(llm, "steps", 0) + 1
            if llm.steps > limit:
                os._exit(int(os.environ.get("FAKE_VLLM_EXIT_CODE", "137")))
        outputs = []
        for req in list(self.running.values()):
            llm._advance(req)
            if req.finish_reason is not None:
                del self.running[req.request_id]
            if req.finish_reason is not None or req.params.output_kind != RequestOutputKind.FINAL_ONLY:
                outputs.append(llm._output(req))
        self.outputs_built += len(outputs)
        return outputs


class _FakeModel:
    """What ``apply_model`` hands to the function: the model with vLLM's ``load_weights``."""

    def __init__(self, llm, names: set[str], tied: bool) -> None:
        self._llm = weakref.ref(llm)
        self.names, self.tied = names, tied
        self.params: dict = {}

    def load_weights(self, weights) -> set[str]:
        llm = self._llm()
        loaded = set()
        for name, tensor in weights:
            if not llm.pools["weights"]:
                raise RuntimeError("load_weights wrote to GPU memory that is asleep; call wake_up(tags=['weights'])")
            if self.tied and name.startswith("lm_head."):
                continue  # tied to the embedding, skipped as vLLM's Qwen2 loader does
            if name not in self.names:
                raise KeyError(name)  # vLLM's params_dict[name]
            self.params[name] = tensor.detach().clone()
            llm.valid.add(name)
            loaded.add(name)
            EVENTS.append(("load", name))
        return loaded


class LLM:
    """``vllm.LLM``: builds EngineArgs from its keywords, starts the engine, generates."""

    def __init__(self, model: str, **kwargs) -> None:
        from vllm.engine.arg_utils import EngineArgs

        args = EngineArgs(model=model, **kwargs)  # TypeError on an unknown keyword, as vLLM
        self.args = args
        multiprocess = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING", "1") != "0"
        if args.distributed_executor_backend == "external_launcher":
            assert not multiprocess, ("To get deterministic execution in V1, please set "
                                      "VLLM_ENABLE_V1_MULTIPROCESSING=0")
            self.rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
        else:
            self.rank, local_rank = 0, 0
        self.device = f"cuda:{local_rank}"
        share = float(args.gpu_memory_utilization)
        if GPU_USED.get(self.device, 0.0) + share > 1.0 + 1e-9:
            raise RuntimeError(f"CUDA out of memory on {self.device}: {GPU_USED[self.device]:.2f} of the GPU is held "
                               f"by another engine, {share:.2f} requested")
        proc = None
        if multiprocess:
            proc = multiprocessing.get_context("fork").Process(target=_engine_core_main, args=(os.getpid(),),
                                                               name="EngineCore_0")
            proc.start()  # AssertionError in a daemonic process
        GPU_USED[self.device] = GPU_USED.get(self.device, 0.0) + share
        self._finalizer = weakref.finalize(self, _release, self.device, share, proc)
        from transformers import AutoConfig, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or model)
        config = AutoConfig.from_pretrained(model)
        self.max_model_len = int(args.max_model_len or config.max_position_embeddings)
        self.vocab = len(self.tokenizer)
        self.eos = self.tokenizer.eos_token_id
        self.rng = random.Random(args.seed or 0)
        self.logprobs_mode = getattr(args, "logprobs_mode", "raw_logprobs")
        self.pools = {"weights": True, "kv_cache": True}
        names = _weight_names(Path(model))
        self.valid = set(names)
        self.model = _FakeModel(self, names, bool(getattr(config, "tie_word_embeddings", False)))
        self.llm_engine = _LLMEngine(self, multiprocess)
        self.llm_engine.engine_core = _EngineCore(self._finalizer)
        EVENTS.append(("LLM", self.device, args.distributed_executor_backend, multiprocess))

    # -- API ---------------------------------------------------------------------------------------

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, sampling_params=None, use_tqdm=True):
        params = sampling_params if sampling_params is not None else SamplingParams()
        prompts = [prompts] if isinstance(prompts, (str, dict)) else list(prompts)
        plist = params if isinstance(params, list) else [params] * len(prompts)
        outputs = []
        for i, (prompt, p) in enumerate(zip(prompts, plist, strict=True)):
            p = dataclasses.replace(p, output_kind=RequestOutputKind.FINAL_ONLY)
            completions, ids = [], None
            for j in range(p.n):
                self.llm_engine.add_request(f"{i}-{j}", prompt, dataclasses.replace(p, n=1))
                req = self.llm_engine.running.pop(f"{i}-{j}")
                while req.finish_reason is None:
                    self._check_awake()
                    self._advance(req)
                ids = req.prompt_ids
                completions.append(self._output(req).outputs[0])
                completions[-1].index = j
            EVENTS.append(("generate", len(completions)))
            outputs.append(RequestOutput(str(i), ids, completions, True))
        return outputs

    def reset_prefix_cache(self) -> bool:
        EVENTS.append(("reset_prefix_cache",))
        return True

    def apply_model(self, func):
        return [func(self.llm_engine.model_executor.model)]  # AttributeError with V1 multiprocessing

    def sleep(self, level: int = 1) -> None:
        if not self.args.enable_sleep_mode:
            raise RuntimeError("Sleep mode is not enabled in the engine (enable_sleep_mode=True)")
        self.pools = {"weights": False, "kv_cache": False}
        if level == 2:
            self.valid = set()
        EVENTS.append(("sleep", level))

    def wake_up(self, tags: list[str] | None = None) -> None:
        if tags is not None and _vtuple(version()) < (0, 8, 5):
            raise TypeError("wake_up() got an unexpected keyword argument 'tags'")
        for tag in tags or ("weights", "kv_cache"):
            self.pools[tag] = True
        EVENTS.append(("wake_up", tuple(tags) if tags is not None else None))

    # -- internals ---------------------------------------------------------------------------------

    def _check_awake(self) -> None:
        if not all(self.pools.values()):
            raise RuntimeError(f"the engine is asleep ({self.pools}); wake_up with all tags before generating")
        if self.valid != self.model.names:
            raise RuntimeError("generating with discarded weights (sleep level 2 without pushing them back)")

    def _logits(self, prev: int, step: int) -> list[float]:
        r = random.Random(prev * 1_000_003 + 17)
        logits = [r.gauss(0.0, 2.0) for _ in range(self.vocab)]
        if self.eos is not None:
            logits[self.eos] += 0.6 * step
        return logits

    def _advance(self, req: _Request) -> None:
        p = req.params
        prev = (req.tokens or req.prompt_ids or [0])[-1]
        logits = self._logits(prev, len(req.tokens))
        raw = _log_softmax(logits)
        if p.temperature == 0:
            token = max(range(self.vocab), key=lambda t: logits[t])
            processed = raw
        else:
            processed = _nucleus(_log_softmax([x / p.temperature for x in logits]), p.top_p)
            u, acc, token = req.rng.random(), 0.0, self.vocab - 1
            for t, lp in enumerate(processed):
                acc += math.exp(lp)
                if u < acc:
                    token = t
                    break
        req.tokens.append(token)
        if p.logprobs is not None:
            chosen = processed if self.logprobs_mode == "processed_logprobs" else raw
            req.logprobs.append({token: Logprob(chosen[token])})
        if token == self.eos:
            req.finish_reason = "stop"
        elif len(req.tokens) >= (p.max_tokens or 16) or len(req.prompt_ids) + len(req.tokens) >= self.max_model_len:
            req.finish_reason = "length"

    def _output(self, req: _Request) -> RequestOutput:
        body = req.tokens[:-1] if req.finish_reason == "stop" else req.tokens
        text = self.tokenizer.decode(body, skip_special_tokens=True)
        completion = CompletionOutput(0, text, list(req.tokens), list(req.logprobs) if req.params.logprobs is not None
                                      else None, req.finish_reason)
        return RequestOutput(req.request_id, list(req.prompt_ids), [completion], req.finish_reason is not None)


def _log_softmax(values: list[float]) -> list[float]:
    top = max(values)
    total = math.log(sum(math.exp(v - top) for v in values)) + top
    return [v - total for v in values]


def _nucleus(logprobs: list[float], top_p: float) -> list[float]:
    """Log-probs renormalised over the smallest most-likely set whose mass reaches top_p."""
    if top_p >= 1.0:
        return logprobs
    order = sorted(range(len(logprobs)), key=lambda t: -logprobs[t])
    keep, mass = set(), 0.0
    for t in order:
        if mass >= top_p:
            break
        keep.add(t)
        mass += math.exp(logprobs[t])
    norm = math.log(mass)
    return [lp - norm if t in keep else -math.inf for t, lp in enumerate(logprobs)]


def _weight_names(model_dir: Path) -> set[str]:
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        return set()
    from safetensors import safe_open

    names = set()
    for path in files:
        with safe_open(str(path), framework="pt") as handle:
            names.update(handle.keys())
    index = model_dir / "model.safetensors.index.json"
    if index.exists():
        names.update(json.loads(index.read_text())["weight_map"])
    return names
