"""Rollouts with vLLM colocated on the training GPU (vLLM >= 0.8.5), one engine per rank.

Placement. Under torchrun (torch.distributed initialised, or WORLD_SIZE > 1) the engine is built with
``distributed_executor_backend="external_launcher"``, which reads RANK / LOCAL_RANK from the environment
and puts the worker on ``cuda:<LOCAL_RANK>`` (vllm 0.8.5 ``executor/uniproc_executor.py``
``ExecutorWithExternalLauncher._init_executor``); the default uni-process executor would use local rank 0,
i.e. every rank's engine on the first GPU (``UniProcExecutor._init_executor``; the same in 0.33.0
``v1/executor/uniproc_executor.py`` ``_distributed_args``). Each rank is then its own
"external data-parallel" engine on the trainer's process group (``distributed/parallel_state.py``
``initialize_model_parallel``: layout ExternalDP x DP x PP x TP), generating its own prompts. This is
TRL's colocate mode (``trl/generation/vllm_generation.py`` ``_init_vllm``). Tensor parallelism inside
an engine is not supported here (one GPU per engine).

In-process engine. ``VLLM_ENABLE_V1_MULTIPROCESSING`` is forced to 0 (not ``setdefault``: an inherited
1 would move the engine core into a child process, where ``LLM.apply_model`` cannot reach the model:
0.8.5 ``entrypoints/llm.py`` ``apply_model`` uses ``llm_engine.model_executor``, which V1's
``LLMEngine.__init__`` sets only without multiprocessing; the external launcher also asserts it is 0).

Memory, in TRL's order (``VLLMGeneration.sync_weights`` / ``generate``): the engine sleeps while the
trainer works. ``sleep_level`` 1 (default; config key ``vllm_sleep_level``) moves the weights to CPU RAM
and drops the KV cache; waking restores them locally, so :meth:`generate` may be called any number of
times per rank (validation calls it once per chunk, and ranks hold different numbers of chunks). Level 2
(TRL's choice) drops the weights too and saves the CPU copy, but then every :meth:`generate` after a
sleep must push the weights again, a collective under FSDP2: use it only when every rank calls
:meth:`generate` equally often. :meth:`sync_weights` does ``torch.cuda.empty_cache()``, then
``wake_up(tags=["weights"])`` (only the weights: the KV cache would otherwise be re-allocated while the
trainer's blocks are still cached, vLLM RFC #15254), then ``load_weights`` tensor by tensor (a full
tensor is gathered, pushed and dropped before the next; under FSDP2 ``DTensor.full_tensor()`` one
parameter at a time). :meth:`generate` wakes ``["kv_cache"]`` just before sampling and sleeps after.
``wake_up(tags=...)`` exists from vLLM 0.8.5 on, hence the floor. The share of GPU memory the engine
may take is ``gpu_memory_utilization`` (default: the config's ``vllm_gpu_memory_utilization``).

Log-probs. ``Rollouts.engine_logprobs`` (for ``rollout/logp_diff``) are the log-probs of the sampled
tokens under the distribution the trainer computes: temperature-scaled, no top-p. vLLM V1 returns raw
log-probs of the unscaled logits (0.8.5 ``v1/sample/sampler.py`` ``Sampler.forward``) unless the engine
has ``logprobs_mode="processed_logprobs"`` (an ``EngineArgs`` field in newer versions, e.g. 0.33.0;
used whenever it exists). With raw log-probs and temperature T != 1 the difference would be inflated by
``|log p_T - log p_1|`` per token, so they are not returned (None) then; with top_p < 1 vLLM's processed
log-probs are renormalised over the nucleus while the trainer's are not, so they are not returned either.

Seeds. ``generate(..., seeds=[...])`` submits one request per response with its own seed (from
:func:`justrl.train.rollout.rollout_seeds`), so a resumed run asks for the same samples; vLLM V1
reproduces them exactly only for identical batching (or ``VLLM_BATCH_INVARIANT=1``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator

from justrl.train.config import TrainError
from justrl.train.rollout import Rollouts

MIN_VERSION = (0, 8, 5)
_WRAPPER_PREFIXES = ("module.", "_orig_mod.", "_fsdp_wrapped_module.", "_checkpoint_wrapped_module.")


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise TrainError("rollout_engine=vllm needs vLLM >= 0.8.5 on a GPU machine (pip install 'justrl[vllm]'); "
                         "or pass --set rollout_engine=hf") from None
    from justrl.evaluate.backends.vllm import _version_tuple

    version = str(getattr(vllm, "__version__", "0"))
    if _version_tuple(version) < MIN_VERSION:
        raise TrainError(f"vLLM {version} is too old for colocated rollouts (wake_up(tags=...) needs vLLM >= 0.8.5); "
                         f"pip install -U 'vllm>=0.8.5', or pass --set rollout_engine=hf")
    return vllm


def supports_engine_arg(name: str) -> bool:
    """Whether the installed vLLM's ``EngineArgs`` (what ``vllm.LLM`` builds from its keywords) has ``name``."""
    try:
        from vllm.engine.arg_utils import EngineArgs
    except ImportError:
        return False
    return dataclasses.is_dataclass(EngineArgs) and any(f.name == name for f in dataclasses.fields(EngineArgs))


def launch_settings() -> dict:
    """``vllm.LLM`` keywords for this process's place: ``external_launcher`` under torchrun (RANK,
    LOCAL_RANK and WORLD_SIZE filled in from torch.distributed when a launcher did not set them), else
    nothing (the uni-process executor, local rank 0)."""
    import torch

    dist = torch.distributed
    initialised = dist.is_available() and dist.is_initialized()
    if not initialised and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return {}
    if initialised:
        os.environ.setdefault("RANK", str(dist.get_rank()))
        os.environ.setdefault("WORLD_SIZE", str(dist.get_world_size()))
        if "LOCAL_RANK" not in os.environ:
            local = torch.cuda.current_device() if torch.cuda.is_available() else dist.get_rank()
            os.environ["LOCAL_RANK"] = str(local)
    missing = [v for v in ("RANK", "LOCAL_RANK") if v not in os.environ]
    if missing:
        raise TrainError(f"WORLD_SIZE={os.environ.get('WORLD_SIZE')} but {', '.join(missing)} is not set; launch "
                         f"with torchrun so each rank's vLLM engine can find its GPU")
    return {"distributed_executor_backend": "external_launcher"}


def vllm_param_name(name: str) -> str:
    """A trainer state-dict name as the vLLM model's ``load_weights`` expects it (wrapper prefixes off)."""
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix):], True
        for infix in _WRAPPER_PREFIXES:
            if "." + infix in name:
                name, changed = name.replace("." + infix, "."), True
    return name


def iter_full_weights(model) -> Iterator[tuple[str, object]]:
    """(name, full tensor) for every entry of ``model.state_dict()``, one at a time: a sharded (FSDP2
    DTensor) entry is all-gathered only when reached, so at most one full tensor exists at once. Under
    FSDP2 this is a collective: every rank must iterate it to the end."""
    module = model.module if hasattr(model, "module") else model
    for name, tensor in module.state_dict().items():
        yield vllm_param_name(name), (tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor.detach())


def _load_one(name: str, tensor, model) -> None:
    model.load_weights(weights=[(name, tensor)])


class VLLMEngine:
    """vLLM ``LLM`` sharing the GPU with the trainer (sleep mode), weights pushed after every update.

    Call :meth:`sync_weights` right after construction (on every rank): the engine loaded the checkpoint
    named by ``config.model`` from disk, not the trainer's current (warm-started or resumed) weights (with
    ``sleep_level=2`` it does not even hold those after the initial sleep)."""

    name = "vllm"

    def __init__(self, config, model, tokenizer, *, gpu_memory_utilization: float | None = None,
                 max_model_len: int | None = None, sleep_level: int | None = None,
                 engine_args: dict | None = None):
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        vllm = _import_vllm()
        sleep_level = int(getattr(config, "vllm_sleep_level", 1) if sleep_level is None else sleep_level)
        if sleep_level not in (1, 2):
            raise TrainError(f"sleep_level={sleep_level}: vLLM sleep levels are 1 (weights to CPU) and 2 (discarded)")
        util = gpu_memory_utilization if gpu_memory_utilization is not None else \
            float(getattr(config, "vllm_gpu_memory_utilization", 0.35))
        if not 0.0 < util <= 1.0:
            raise TrainError(f"vllm_gpu_memory_utilization={util} must be in (0, 1] (the share of GPU memory vLLM may use)")
        self.model, self.tokenizer = model, tokenizer
        self.sleep_level = sleep_level
        launch = launch_settings()
        rank = int(os.environ.get("RANK", "0"))
        kwargs = {"model": config.model, "tokenizer": config.model, "enable_sleep_mode": True,
                  "dtype": "float32" if getattr(config, "dtype", "auto") == "float32" else "bfloat16",
                  "gpu_memory_utilization": util, "seed": int(config.seed) + rank,
                  "max_model_len": max_model_len or _max_model_len(config), "enable_prefix_caching": True,
                  **launch}
        if supports_engine_arg("logprobs_mode"):
            kwargs["logprobs_mode"] = "processed_logprobs"
        kwargs.update(engine_args or {})
        self.engine_kwargs = kwargs
        self.processed_logprobs = kwargs.get("logprobs_mode") == "processed_logprobs"
        self.llm = vllm.LLM(**kwargs)
        self._awake = {"weights": True, "kv_cache": True}
        self._weights_current = False  # True once the trainer's weights were pushed since the last level-2 sleep
        self.sleep()

    # -- weights ---------------------------------------------------------------------------------------

    def sync_weights(self, weights: Iterable[tuple[str, object]] | None = None) -> None:
        """Push the trainer's current weights into the engine (after every optimizer update, and right
        after construction). ``weights``: (name, full tensor) pairs yielded one at a time (default:
        :func:`iter_full_weights` of the trainer's model). A collective under FSDP2: every rank calls it.
        The KV cache stays asleep; :meth:`generate` wakes it."""
        import functools

        import torch

        torch.cuda.empty_cache()  # give the trainer's cached blocks back before vLLM maps its weights (TRL)
        if not self._awake["weights"]:
            self.llm.wake_up(tags=["weights"])
            self._awake["weights"] = True
        source = iter_full_weights(self.model) if weights is None else weights
        for name, tensor in source:
            self.llm.apply_model(functools.partial(_load_one, name, tensor))
            del tensor  # the next full tensor is gathered only after this one is gone
        self._weights_current = True
        if self._awake["kv_cache"]:
            self.llm.reset_prefix_cache()  # cached prefixes were computed with the old weights

    # -- generation ------------------------------------------------------------------------------------

    def logprobs_comparable(self, temperature: float, top_p: float) -> bool:
        """Whether vLLM's sampled-token log-probs equal the trainer's (temperature-scaled, no top-p)."""
        return top_p >= 1.0 and (self.processed_logprobs or temperature == 1.0)

    def generate(self, prompts: list[list[int]], n: int, *, max_new_tokens: int, temperature: float,
                 top_p: float, seeds: list[int] | None = None) -> Rollouts:
        """``n`` samples per prompt (consecutive per prompt). ``seeds``: one per response (request order),
        each sent as its own request; without them one request with ``n`` samples per prompt.
        ``engine_logprobs`` is None when they would not be comparable (see the module docstring)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        requests = [p for p in prompts for _ in range(n)]
        if seeds is not None and len(seeds) != len(requests):
            raise ValueError(f"{len(seeds)} seeds for {len(requests)} responses")
        if not requests:
            return Rollouts([], [], [], None)
        if not self._weights_current:
            self.sync_weights()  # never pushed yet, or discarded by a level-2 sleep (TRL re-pushes them too)
        comparable = self.logprobs_comparable(temperature, top_p)
        common = {"temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens,
                  "logprobs": 0 if comparable else None}
        if seeds is None:
            inputs = [TokensPrompt(prompt_token_ids=list(p)) for p in prompts]
            params = SamplingParams(n=n, **common)
        else:
            inputs = [TokensPrompt(prompt_token_ids=list(p)) for p in requests]
            params = [SamplingParams(n=1, seed=int(s), **common) for s in seeds]
        self._wake([t for t, awake in self._awake.items() if not awake])
        try:
            outputs = self.llm.generate(inputs, params, use_tqdm=False)
        finally:
            self.sleep()
        responses, truncated, logprobs = [], [], []
        for out in outputs:
            for completion in sorted(out.outputs, key=lambda c: c.index):
                ids = list(completion.token_ids)
                responses.append(ids)
                truncated.append(completion.finish_reason == "length")
                if comparable:
                    logprobs.append([step[token].logprob for step, token in
                                     zip(completion.logprobs or [], ids, strict=True)])
        return Rollouts(requests, responses, truncated, logprobs if comparable else None)

    # -- memory ----------------------------------------------------------------------------------------

    def _wake(self, tags: list[str]) -> None:
        if tags:
            self.llm.wake_up(tags=tags)
            for tag in tags:
                self._awake[tag] = True

    def sleep(self) -> None:
        """Release the engine's GPU memory (level 2: weights and KV cache discarded; level 1: weights kept
        in CPU RAM). A level-2 sleep makes the next :meth:`generate` push the weights first."""
        if any(self._awake.values()):
            self.llm.sleep(level=self.sleep_level)
            self._awake = {"weights": False, "kv_cache": False}
            if self.sleep_level == 2:
                self._weights_current = False

    def wake_up(self) -> None:
        """Re-allocate everything (weights and KV cache)."""
        self._wake([t for t, awake in self._awake.items() if not awake])

    def close(self) -> None:
        """Shut the engine down and give its GPU memory back (the trainer's process group is left alone)."""
        from justrl.evaluate.backends.vllm import shutdown_llm

        shutdown_llm(self, destroy_distributed=False)


def _max_model_len(config) -> int:
    """Prompt + the longest response the engine will be asked for (training or validation), capped at
    the model's own context window."""
    longest = int(config.max_response_tokens)
    if getattr(config, "val_benchmarks", None):
        longest = max(longest, int(getattr(config, "val_max_tokens", 0) or 0))
    wanted = int(config.max_prompt_tokens) + longest
    try:
        from transformers import AutoConfig

        from justrl.evaluate.backends.context import model_context_limit

        limit = model_context_limit(AutoConfig.from_pretrained(config.model))
    except (ImportError, OSError, ValueError):
        limit = None
    return min(wanted, limit.tokens) if limit else wanted
