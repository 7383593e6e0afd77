"""Rollouts with transformers ``generate`` on the trainer's own model (no weight copy, never stale)."""

from __future__ import annotations

from justrl.train.rollout import Rollouts


class HFEngine:
    """Samples with ``model.generate`` in batches of ``batch_size`` sequences, left-padded prompts."""

    name = "hf"

    def __init__(self, model, tokenizer, *, device: str = "cpu", batch_size: int = 256):
        self.model, self.tokenizer, self.device, self.batch_size = model, tokenizer, device, batch_size

    def generate(self, prompts: list[list[int]], n: int, *, max_new_tokens: int, temperature: float,
                 top_p: float) -> Rollouts:
        """``n`` responses per prompt, consecutive per prompt; sampling uses torch's global RNG."""
        import torch

        model = self.model.module if hasattr(self.model, "module") else self.model
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else next(iter(eos_ids))
        requests = [p for p in prompts for _ in range(n)]
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
                with torch.no_grad():
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

    def sync_weights(self) -> None:
        """Nothing to do: generation reads the trainer's parameters directly."""

    def sleep(self) -> None:
        """Nothing to free."""

    def wake_up(self) -> None:
        """Nothing to restore."""
