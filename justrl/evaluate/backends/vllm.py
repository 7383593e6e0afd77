"""The ``vllm`` backend: vLLM's offline engine, one engine per GPU group, model loaded once per engine.

* ``tensor_parallel_size`` GPUs per engine (default 1); ``data_parallel`` engines (default: visible GPUs
  // tensor_parallel_size). With one engine it runs in this process; with several, each runs in its
  own spawned process pinned to its GPUs (``CUDA_VISIBLE_DEVICES``), requests are split round-robin and
  results stream back through a queue.
* All requests are submitted to the engine at once (``LLMEngine.add_request``), each with its own
  ``SamplingParams(n=1, seed=...)``; the engine is stepped and every finished request is delivered at
  once, so the run store grows as samples finish. Prompts are rendered with the model's chat template
  (``tokenizer.apply_chat_template(..., add_generation_prompt=True)``), as JustRL's generation does.

vLLM is imported lazily; without it the CLI says ``pip install 'justrl[vllm]'``. This module is kept thin
on purpose (it cannot be exercised without a GPU): everything else (seeds, store, grading) is shared
with the tested backends.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from justrl.evaluate.backends import BackendError, missing_extra, template_sha256
from justrl.evaluate.backends.base import GenerationRequest, GenerationResult


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise missing_extra("vllm", "vllm") from None
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


class _Engine:
    """One vLLM engine (in this process)."""

    def __init__(self, model: str, engine_args: dict) -> None:
        vllm = _import_vllm()
        self.vllm = vllm
        self.llm = vllm.LLM(model=model, **engine_args)
        self.tokenizer = self.llm.get_tokenizer()

    def info(self) -> dict:
        return {"chat_template_sha256": template_sha256(getattr(self.tokenizer, "chat_template", None)),
                "vllm": self.vllm.__version__}

    def run(self, requests: list[GenerationRequest], on_result: Callable[[GenerationResult], None]) -> None:
        prompts, params = {}, {}
        for req in requests:
            prompts[req.key] = self.tokenizer.apply_chat_template(req.messages, tokenize=False,
                                                                   add_generation_prompt=True)
            s = req.sampling
            params[req.key] = self.vllm.SamplingParams(n=1, temperature=s.temperature, top_p=s.top_p,
                                                       max_tokens=s.max_tokens, seed=s.seed)
        engine = getattr(self.llm, "llm_engine", None)
        if engine is not None and hasattr(engine, "add_request") and hasattr(engine, "step"):
            for key in prompts:
                engine.add_request(key, prompts[key], params[key])
            while engine.has_unfinished_requests():
                for output in engine.step():
                    if output.finished:
                        on_result(_result(output.request_id, prompts, output))
        else:  # no engine loop exposed: one blocking call (results stored when it returns)
            keys = list(prompts)
            outputs = self.llm.generate([prompts[k] for k in keys], [params[k] for k in keys], use_tqdm=False)
            for key, output in zip(keys, outputs, strict=True):
                on_result(_result(key, prompts, output))


def _result(key: str, prompts: dict, output) -> GenerationResult:
    completion = output.outputs[0]
    return GenerationResult(key=key, text=completion.text, finish_reason=completion.finish_reason or "stop",
                            prompt_tokens=len(output.prompt_token_ids or []),
                            completion_tokens=len(completion.token_ids), prompt_text=prompts[key])


def _worker(gpus: str, model: str, engine_args: dict, requests: list[GenerationRequest], queue) -> None:
    """Spawned process: one engine on ``gpus``; sends ("info"|"result"|"error"|"done", payload)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    try:
        engine = _Engine(model, engine_args)
        queue.put(("info", engine.info()))
        engine.run(requests, lambda result: queue.put(("result", result)))
        queue.put(("done", None))
    except BaseException as exc:  # report anything, the parent decides
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


class VLLMBackend:
    """vLLM offline generation; ``engine_args`` go to ``vllm.LLM`` (e.g. gpu_memory_utilization,
    max_model_len, dtype, enforce_eager)."""

    name = "vllm"

    def __init__(self, model: str | None, *, revision: str | None = None, tensor_parallel_size: int = 1,
                 data_parallel: int | None = None, seed: int = 0, **engine_args) -> None:
        if not model:
            raise BackendError("the vllm backend needs --model (a local folder or a hub id)")
        _import_vllm()
        self.model = model
        self.revision = revision
        self.engine_args = {"revision": revision, "tensor_parallel_size": tensor_parallel_size, "seed": seed,
                            **engine_args}
        gpus = _visible_gpus()
        groups = max(1, len(gpus) // max(1, tensor_parallel_size))
        self.data_parallel = min(groups, data_parallel or groups)
        self.gpu_groups = [",".join(gpus[i * tensor_parallel_size:(i + 1) * tensor_parallel_size])
                           for i in range(self.data_parallel)]
        self._engine = _Engine(model, self.engine_args) if self.data_parallel == 1 else None
        self._info = self._engine.info() if self._engine else {}

    def generate(self, requests: list[GenerationRequest],
                 on_result: Callable[[GenerationResult], None]) -> None:
        if self._engine is not None:
            self._engine.run(requests, on_result)
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        parts = [requests[i::self.data_parallel] for i in range(self.data_parallel)]
        procs = [ctx.Process(target=_worker, args=(g, self.model, self.engine_args, p, queue), daemon=True)
                 for g, p in zip(self.gpu_groups, parts, strict=True) if p]
        for proc in procs:
            proc.start()
        running = len(procs)
        try:
            while running:
                kind, payload = queue.get()
                if kind == "result":
                    on_result(payload)
                elif kind == "info":
                    self._info = payload
                elif kind == "done":
                    running -= 1
                else:
                    raise BackendError(f"a vLLM engine failed ({payload}); rerun the same command to resume")
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
                proc.join(timeout=30)

    def describe(self) -> dict:
        return {"backend": self.name, "model": self.model, "revision": self.revision,
                "chat_template_sha256": self._info.get("chat_template_sha256"),
                "tensor_parallel_size": self.engine_args["tensor_parallel_size"],
                "data_parallel": self.data_parallel, "versions": {"vllm": self._info.get("vllm")}}

    def close(self) -> None:
        self._engine = None
