"""Rollouts with vLLM colocated on the training GPU (thin; written against vLLM's documented API).

Lifecycle per rollout step: ``wake_up()`` -> ``generate`` -> ``sleep()`` (frees the KV cache and weights
while the trainer updates) -> ``sync_weights()`` pushes the updated weights with the engine model's
``load_weights``. The engine's sampled-token log-probs are returned so the trainer can log
``rollout/logp_diff`` (engine vs trainer): a stale-weights bug shows up there as a jump above ~1e-2.
The V1 engine is kept in-process (VLLM_ENABLE_V1_MULTIPROCESSING=0) so the weights can be reached.
"""

from __future__ import annotations

import os

from justrl.train.config import TrainError
from justrl.train.rollout import Rollouts


class VLLMEngine:
    """vLLM ``LLM`` sharing the GPU with the trainer (sleep mode), weights pushed after every update."""

    name = "vllm"

    def __init__(self, config, model, tokenizer, *, gpu_memory_utilization: float = 0.35):
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            from vllm import LLM
        except ImportError:
            raise TrainError("rollout_engine=vllm needs vLLM on a GPU machine (pip install vllm); "
                             "or pass --set rollout_engine=hf") from None
        self.model, self.tokenizer = model, tokenizer
        self.llm = LLM(model=config.model, tokenizer=config.model, dtype="bfloat16", enable_sleep_mode=True,
                       gpu_memory_utilization=gpu_memory_utilization, seed=config.seed,
                       max_model_len=config.max_prompt_tokens + config.max_response_tokens,
                       enable_prefix_caching=True)
        self.asleep = False

    def generate(self, prompts: list[list[int]], n: int, *, max_new_tokens: int, temperature: float,
                 top_p: float) -> Rollouts:
        """``n`` samples per prompt with the engine's sampled-token log-probs."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        self.wake_up()
        params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, logprobs=0)
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        requests, responses, truncated, logprobs = [], [], [], []
        for prompt, out in zip(prompts, outputs, strict=True):
            for completion in out.outputs:
                ids = list(completion.token_ids)
                requests.append(prompt)
                responses.append(ids)
                truncated.append(completion.finish_reason == "length")
                logprobs.append([step[token].logprob for step, token in zip(completion.logprobs or [], ids, strict=True)])
        self.sleep()
        return Rollouts(requests, responses, truncated, logprobs)

    def sleep(self) -> None:
        """Free the engine's GPU memory (level 1: weights offloaded to CPU, KV cache discarded)."""
        if not self.asleep:
            self.llm.sleep(level=1)
            self.asleep = True

    def wake_up(self) -> None:
        if self.asleep:
            self.llm.wake_up()
            self.asleep = False

    def sync_weights(self) -> None:
        """Push the trainer's current weights into the engine (call after every optimizer update)."""
        self.wake_up()
        module = self.model.module if hasattr(self.model, "module") else self.model
        weights = [(name, _full_tensor(p)) for name, p in module.state_dict().items()]

        def load(model):
            model.load_weights(weights=weights)

        self.llm.apply_model(load)
        self.sleep()


def _full_tensor(tensor):
    """A plain tensor from a (possibly FSDP2-sharded DTensor) parameter."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor.detach()
