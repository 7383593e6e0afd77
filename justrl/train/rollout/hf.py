"""Rollouts with transformers ``generate`` (CPU, and the GPU fallback when vLLM is not installed).

Unsharded policies (one process, DDP) are sampled directly: no weight copy, never stale. A sharded
policy (FSDP2) cannot be: every forward all-gathers parameters, so ranks whose responses end at
different lengths would wait on each other forever. It gets a local replica instead (as vLLM holds its
own copy), refreshed by :meth:`HFEngine.sync_weights` one full tensor at a time; generation is then
local to each rank and the only collective is the sync, which every rank calls at the same points.

Sampling is reproducible without depending on the global RNG's history: with ``seeds`` (one per
response, derived from (seed, step, prompt, sample) by the caller), each generate call of a chunk runs
under a forked torch generator seeded from the chunk's first seed, so a resumed run draws the same
samples as an uninterrupted one (for the same chunking, i.e. the same world size and batch size).
"""

from __future__ import annotations

import contextlib

from justrl.train.rollout import Rollouts


def _is_sharded(module) -> bool:
    return any(hasattr(p, "full_tensor") for p in module.parameters())


class HFEngine:
    """Samples with ``model.generate`` in batches of ``batch_size`` sequences, left-padded prompts."""

    name = "hf"

    def __init__(self, model, tokenizer, *, device: str = "cpu", batch_size: int = 256, bf16: bool = False):
        self.model, self.tokenizer, self.device, self.batch_size = model, tokenizer, device, batch_size
        self.bf16 = bf16 and device.startswith("cuda")
        module = model.module if hasattr(model, "module") else model
        self.replica = self._build_replica(module) if _is_sharded(module) else None

    def _build_replica(self, module):
        import torch

        cls = type(module)
        from torch.distributed.fsdp import FSDPModule

        if issubclass(cls, FSDPModule):  # fully_shard swaps in a subclass; the replica is the plain model class
            cls = next(c for c in cls.__mro__ if not issubclass(c, FSDPModule) and issubclass(c, torch.nn.Module))
        replica = cls(module.config)
        replica.generation_config = module.generation_config
        replica.to(device=self.device, dtype=torch.bfloat16 if self.bf16 else torch.float32)
        replica.eval()
        return replica

    @property
    def sampler(self):
        """The module ``generate`` runs on: the replica, or the unwrapped trainer model."""
        if self.replica is not None:
            return self.replica
        return self.model.module if hasattr(self.model, "module") else self.model

    def generate(self, prompts: list[list[int]], n: int, *, max_new_tokens: int, temperature: float,
                 top_p: float, seeds: list[int] | None = None) -> Rollouts:
        """``n`` responses per prompt, consecutive per prompt (response ids up to and including EOS).

        ``seeds``: one per response (request order); without them sampling uses torch's global RNG.
        """
        import torch

        model = self.sampler
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else next(iter(eos_ids))
        requests = [p for p in prompts for _ in range(n)]
        if seeds is not None and len(seeds) != len(requests):
            raise ValueError(f"{len(seeds)} seeds for {len(requests)} responses")
        responses: list[list[int]] = []
        truncated: list[bool] = []
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(requests), self.batch_size):
                chunk = requests[start:start + self.batch_size]
                width = max(len(p) for p in chunk)
                ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                attn = torch.zeros((len(chunk), width), dtype=torch.long)
                for i, p in enumerate(chunk):
                    ids[i, width - len(p):] = torch.tensor(p)
                    attn[i, width - len(p):] = 1
                with torch.no_grad(), self._rng(None if seeds is None else seeds[start]), self._autocast():
                    out = model.generate(input_ids=ids.to(self.device), attention_mask=attn.to(self.device),
                                         do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                                         max_new_tokens=max_new_tokens, pad_token_id=pad,
                                         eos_token_id=sorted(eos_ids))
                for row in out[:, width:].tolist():
                    cut = next((j for j, t in enumerate(row) if t in eos_ids), None)
                    responses.append(row[: cut + 1] if cut is not None else row[:max_new_tokens])
                    truncated.append(cut is None)
        finally:
            model.train(was_training)
        return Rollouts(requests, responses, truncated)

    def _rng(self, seed: int | None):
        if seed is None:
            return contextlib.nullcontext()
        import torch

        return _seeded(torch, int(seed), self.device)

    def _autocast(self):
        import torch

        return torch.autocast("cuda", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def sync_weights(self, weights=None) -> None:
        """Refresh the replica of a sharded policy, one full tensor at a time (a collective then: every rank
        calls it); nothing to do otherwise (generation reads the trainer's parameters directly)."""
        if self.replica is None:
            return
        module = self.model.module if hasattr(self.model, "module") else self.model
        own = dict(self.replica.named_parameters())
        own.update(dict(self.replica.named_buffers()))
        import torch

        with torch.no_grad():
            for name, tensor in module.state_dict().items():
                full = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
                if name in own:
                    own[name].copy_(full.to(own[name].dtype))
                del full

    def sleep(self) -> None:
        """Nothing to free."""

    def wake_up(self) -> None:
        """Nothing to restore."""

    def close(self) -> None:
        self.replica = None


@contextlib.contextmanager
def _seeded(torch, seed: int, device: str):
    """torch's CPU (and this CUDA device's) generator seeded with ``seed`` inside, restored after."""
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
