"""GPU check of the trainer's update at the paper's sizes: peak memory and tokens/s (no network, no tokenizer).

A randomly initialised Qwen2 with DeepSeek-R1-Distill-Qwen-1.5B's configuration (written out below), float32
parameters with bf16 autocast and gradient checkpointing (as ``justrl-train`` runs on GPUs), then:

1. old log-probs (eval mode, no gradient) and one GRPO update (AdamW step) on ``--rows`` synthetic responses of
   ``--response`` tokens (default 4 x 15,360 after 1,024-token prompts), packed into micro-batches of
   ``--budget`` tokens (JustRL: 32,768 per GPU) with ``justrl.train.microbatch``, log-probs from
   ``justrl.train.grpo.sequence_logprobs``, loss from ``policy_loss`` (exact token-mean);
2. a short rollout step with transformers ``generate`` (justrl's HF engine; bf16; ``--gen-prompts`` x
   ``--gen-samples`` responses of ``--gen-tokens`` tokens).

Prints the peak GPU memory of each phase (``torch.cuda.max_memory_allocated``) and tokens/s, then one JSON line.
Meant to finish in a few minutes on one H100/H200. ``--tiny`` runs the same code on a tiny model (CPU or GPU) as a
smoke check. Run: ``.venv/bin/python bench/gpu_check.py [--tiny] [--out result.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types

# DeepSeek-R1-Distill-Qwen-1.5B's config.json (Qwen2ForCausalLM), the fields that shape compute and memory
DEEPSEEK_R1_DISTILL_QWEN_1_5B = {
    "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
    "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 131072, "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 151646,
    "eos_token_id": 151643, "pad_token_id": 151643,
}
TINY = {**DEEPSEEK_R1_DISTILL_QWEN_1_5B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096}


def build(torch, device: str, fields: dict):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    rope_theta = fields["rope_theta"]
    config = Qwen2Config(**{k: v for k, v in fields.items() if k != "rope_theta"},
                         rope_parameters={"rope_type": "default", "rope_theta": rope_theta})
    config.use_cache = False
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = fields["eos_token_id"]
    model.generation_config.pad_token_id = fields["pad_token_id"]
    return model


def synthetic_batch(torch, rows: int, prompt: int, response: int, vocab: int, device: str):
    """Full-layout tensors (prompts left-padded, responses right-padded) of random tokens, every row full length."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(10, vocab - 10, (rows, prompt + response), generator=gen)
    attn = torch.ones_like(ids)
    mask = torch.ones(rows, response)
    adv = torch.randn(rows, generator=gen)
    return ids.to(device), attn.to(device), mask.to(device), adv.to(device)


def _sync(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak(torch, device) -> int | None:
    return int(torch.cuda.max_memory_allocated()) if device.startswith("cuda") else None


def _reset(torch, device) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def _autocast(torch, device):
    import contextlib

    return torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else contextlib.nullcontext()


def update_phase(torch, model, args, device) -> dict:
    from justrl.train.grpo import policy_loss, sequence_logprobs
    from justrl.train.microbatch import (
        pack_micro_batches,
        put_response,
        take_response,
        take_rows,
        take_sequence,
    )

    vocab = model.config.vocab_size
    ids, attn, mask, adv = synthetic_batch(torch, args.rows, args.prompt, args.response, vocab, device)
    t = args.response
    mbs = pack_micro_batches([args.prompt] * args.rows, [args.response] * args.rows, args.budget)
    tokens = args.rows * (args.prompt + args.response)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.999), weight_decay=0.1)

    _reset(torch, device)
    _sync(torch, device)
    t0 = time.perf_counter()
    old = torch.zeros_like(mask)
    model.eval()
    with torch.no_grad(), _autocast(torch, device):
        for mb in mbs:
            logp, _ = sequence_logprobs(model, take_sequence(ids, mb, t), take_sequence(attn, mb, t),
                                        mb.response_width, entropy=True)
            put_response(old, mb, logp.float())
    _sync(torch, device)
    old_s, old_peak = time.perf_counter() - t0, _peak(torch, device)

    _reset(torch, device)
    model.train()
    t0 = time.perf_counter()
    total = float(mask.sum())
    optimizer.zero_grad(set_to_none=True)
    metrics = {}
    for mb in mbs:
        with _autocast(torch, device):
            logp, _ = sequence_logprobs(model, take_sequence(ids, mb, t), take_sequence(attn, mb, t), mb.response_width)
            loss, metrics = policy_loss(logp, take_response(old, mb) + 0.01, take_rows(adv, mb),
                                        take_response(mask, mb), normalizer=total)
        loss.backward()
        del logp, loss
    norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    _sync(torch, device)
    update_s, update_peak = time.perf_counter() - t0, _peak(torch, device)
    return {"micro_batches": len(mbs), "rows": args.rows, "tokens": tokens, "old_logprob_s": old_s,
            "old_logprob_tokens_per_s": tokens / old_s, "old_logprob_peak_bytes": old_peak, "update_s": update_s,
            "update_tokens_per_s": tokens / update_s, "update_peak_bytes": update_peak, "grad_norm": norm,
            "pg_loss": metrics.get("actor/pg_loss")}


def rollout_phase(torch, model, args, device) -> dict:
    from justrl.train.rollout.hf import HFEngine

    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(2)
    prompts = [torch.randint(10, vocab - 10, (args.gen_prompt,), generator=gen).tolist()
               for _ in range(args.gen_prompts)]
    stub_tokenizer = types.SimpleNamespace(pad_token_id=model.generation_config.pad_token_id)
    engine = HFEngine(model, stub_tokenizer, device=device, batch_size=args.gen_prompts * args.gen_samples,
                      bf16=device.startswith("cuda"))
    _reset(torch, device)
    _sync(torch, device)
    t0 = time.perf_counter()
    out = engine.generate(prompts, args.gen_samples, max_new_tokens=args.gen_tokens, temperature=1.0, top_p=1.0)
    _sync(torch, device)
    seconds = time.perf_counter() - t0
    new_tokens = sum(len(r) for r in out.response_ids)
    return {"responses": len(out.response_ids), "new_tokens": new_tokens, "gen_s": seconds,
            "gen_tokens_per_s": new_tokens / seconds, "gen_peak_bytes": _peak(torch, device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model and short sequences (smoke check, CPU ok)")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--prompt", type=int, default=None, help="prompt tokens per row (default 1024; tiny 32)")
    parser.add_argument("--response", type=int, default=None, help="response tokens per row (default 15360; tiny 96)")
    parser.add_argument("--budget", type=int, default=None, help="tokens per micro-batch (default 32768; tiny 256)")
    parser.add_argument("--gen-prompts", type=int, default=8)
    parser.add_argument("--gen-samples", type=int, default=4)
    parser.add_argument("--gen-prompt", type=int, default=128)
    parser.add_argument("--gen-tokens", type=int, default=None, help="new tokens per response (default 256; tiny 8)")
    parser.add_argument("--no-checkpointing", action="store_true", help="without gradient checkpointing of the body")
    parser.add_argument("--out", help="also write the JSON result here")
    args = parser.parse_args()
    for name, full, tiny in (("prompt", 1024, 32), ("response", 15360, 96), ("budget", 32768, 256),
                             ("gen_tokens", 256, 8)):
        if getattr(args, name) is None:
            setattr(args, name, tiny if args.tiny else full)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.tiny:
        print("gpu_check: no CUDA device; the 1.5B check needs a GPU (use --tiny for a CPU smoke check)",
              file=sys.stderr)
        raise SystemExit(2)
    t_start = time.perf_counter()
    model = build(torch, device, TINY if args.tiny else DEEPSEEK_R1_DISTILL_QWEN_1_5B)
    if not args.no_checkpointing:  # transformers >= 5 names it activation_checkpointing_enable
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
    params = sum(p.numel() for p in model.parameters())
    result = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "params": params,
              "config": "tiny" if args.tiny else "DeepSeek-R1-Distill-Qwen-1.5B (random init)",
              "gradient_checkpointing": not args.no_checkpointing, "prompt": args.prompt, "response": args.response,
              "budget": args.budget, "torch": torch.__version__}
    result["update"] = update_phase(torch, model, args, device)
    result["rollout"] = rollout_phase(torch, model, args, device)
    result["total_s"] = time.perf_counter() - t_start

    def gib(value):
        return "n/a (CPU)" if value is None else f"{value / 2**30:.2f} GiB"

    u, r = result["update"], result["rollout"]
    compute = "float32 parameters, bf16 autocast" if device == "cuda" else "float32"
    print(f"{result['config']} on {result['device']}: {params / 1e9:.3f}B parameters ({compute}), "
          f"gradient checkpointing {'on' if result['gradient_checkpointing'] else 'off'}")
    print(f"old log-probs: {u['rows']} x ({args.prompt} + {args.response}) tokens in {u['micro_batches']} micro-batches "
          f"of <= {args.budget}: {u['old_logprob_s']:.2f} s, {u['old_logprob_tokens_per_s']:,.0f} tokens/s, "
          f"peak {gib(u['old_logprob_peak_bytes'])}")
    print(f"update (forward + backward + AdamW): {u['update_s']:.2f} s, {u['update_tokens_per_s']:,.0f} tokens/s, "
          f"peak {gib(u['update_peak_bytes'])}, grad norm {u['grad_norm']:.4f}")
    print(f"HF rollout: {r['responses']} responses, {r['new_tokens']} new tokens in {r['gen_s']:.2f} s "
          f"({r['gen_tokens_per_s']:,.0f} tokens/s), peak {gib(r['gen_peak_bytes'])}")
    print(f"total {result['total_s']:.1f} s")
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
