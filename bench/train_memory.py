"""Peak host memory of one GRPO update with Qwen2's real vocabulary: justrl vs TRL 1.16, against the logits' size.

A random Qwen2 with the real vocabulary (151,936 tokens, untied head like DeepSeek-R1-Distill-Qwen-1.5B) and a
small body (hidden 256, 2 layers), one row of ``--prompt`` + N response tokens on CPU. Each side does the same
work in its own fresh process: old log-probs without gradient, then the clipped GRPO loss (dual clip, token-mean)
and its backward.

- ``justrl``: ``justrl.train.grpo.sequence_logprobs`` + ``policy_loss``.
- ``trl``: TRL 1.16's own code, imported: a ``GRPOTrainer`` (``loss_type="dapo"``, epsilon 0.2 / 0.28, delta 10,
  beta 0) whose ``_get_per_token_logps_and_entropies`` gives the old log-probs and whose ``_compute_loss`` gives
  the loss (both run the model through TRL's ``add_fused_lm_head`` forward).
- ``body``: the model body alone (loss = sum of the final hidden states): the model's own activations, the
  baseline both sides are compared beyond.

Peak = the process's peak resident set (VmHWM, reset through /proc/self/clear_refs after a short warm-up step
that allocates the parameter gradients) minus its resident set before the step. Every side runs under a
memory cap (``--cap-gib``, default half of MemAvailable): a watchdog thread ends the process when its resident
set passes the cap and the table says "exceeded N GiB" instead of taking the machine down.

Run: ``.venv/bin/python bench/train_memory.py --tokens 4096 8192 [16384]`` (needs trl + datasets, dev-only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

VOCAB = 151_936
EXCEEDED = 3  # exit code of a side stopped by the memory cap


def status_bytes(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {key} in /proc/self/status")


def mem_available() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def watchdog(cap: int, interval: float = 0.005) -> None:
    """End this process (exit code EXCEEDED) as soon as its resident set passes ``cap`` bytes."""

    def watch():
        while True:
            if status_bytes("VmRSS:") > cap:
                os.write(2, f"resident set passed the cap of {cap / 2**30:.1f} GiB\n".encode())
                os._exit(EXCEEDED)
            time.sleep(interval)

    threading.Thread(target=watch, daemon=True).start()


def build_model(torch, args):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=VOCAB, hidden_size=args.hidden, intermediate_size=args.hidden * 2,
                         num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=False, max_position_embeddings=args.prompt + max(args.tokens) + 64,
                         pad_token_id=0, eos_token_id=1, bos_token_id=None)
    return Qwen2ForCausalLM(config)


def make_batch(torch, prompt: int, tokens: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    prompt_ids = torch.randint(10, VOCAB - 10, (1, prompt), generator=gen)
    completion_ids = torch.randint(10, VOCAB - 10, (1, tokens), generator=gen)
    return prompt_ids, completion_ids, torch.ones_like(completion_ids), torch.tensor([0.7])


def justrl_side(torch, model, args):
    from justrl.train.grpo import policy_loss, sequence_logprobs

    def step(prompt_ids, completion_ids, mask, adv):
        ids = torch.cat([prompt_ids, completion_ids], 1)
        attn = torch.cat([torch.ones_like(prompt_ids), mask], 1)
        t = completion_ids.shape[1]
        with torch.no_grad():
            old, _ = sequence_logprobs(model, ids, attn, t)
        logp, _ = sequence_logprobs(model, ids, attn, t)
        loss, _ = policy_loss(logp, old + 0.01, adv, mask.float())
        loss.backward()

    return step


def trl_side(torch, model, args, tmp):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from justrl.evaluate.tiny import build_tokenizer

    tokenizer = build_tokenizer(os.path.join(tmp, "tok"))
    config = GRPOConfig(output_dir=os.path.join(tmp, "trl"), loss_type="dapo", epsilon=0.2, epsilon_high=0.28,
                        delta=10.0, beta=0.0, num_generations=2, per_device_train_batch_size=2,
                        gradient_accumulation_steps=1, steps_per_generation=1, max_completion_length=max(args.tokens),
                        report_to=[], use_cpu=True, bf16=False, gradient_checkpointing=False)
    trainer = GRPOTrainer(model=model, reward_funcs=lambda completions, **kw: [0.0] * len(completions), args=config,
                          train_dataset=Dataset.from_dict({"prompt": ["x"] * 2}), processing_class=tokenizer)
    trainer.current_gradient_accumulation_steps = 1

    def step(prompt_ids, completion_ids, mask, adv):
        ids = torch.cat([prompt_ids, completion_ids], 1)
        attn = torch.cat([torch.ones_like(prompt_ids), mask], 1)
        with torch.no_grad():
            old = trainer._get_per_token_logps_and_entropies(model, ids, attn, completion_ids.shape[1])[0]
        inputs = {"prompt_ids": prompt_ids, "prompt_mask": torch.ones_like(prompt_ids), "completion_ids": completion_ids,
                  "completion_mask": mask, "advantages": adv, "old_per_token_logps": old + 0.01,
                  "num_items_in_batch": mask.sum()}
        trainer._compute_loss(model, inputs).backward()

    return step


def body_side(torch, model, args):
    def step(prompt_ids, completion_ids, mask, adv):
        ids = torch.cat([prompt_ids, completion_ids], 1)
        attn = torch.ones_like(ids)
        with torch.no_grad():
            model.model(input_ids=ids, attention_mask=attn)
        hidden = model.model(input_ids=ids, attention_mask=attn).last_hidden_state
        hidden[:, -completion_ids.shape[1] - 1:-1].sum().backward()

    return step


def run_side(args) -> None:
    """One side, one size, in this (fresh) process; prints one JSON line."""
    import ctypes

    import torch

    watchdog(int(args.cap_gib * 2**30))
    torch.set_num_threads(args.threads)
    model = build_model(torch, args)
    model.train()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only == "trl":
            step = trl_side(torch, model, args, tmp)
        elif args.only == "justrl":
            step = justrl_side(torch, model, args)
        else:
            step = body_side(torch, model, args)
        step(*make_batch(torch, 16, 32, seed=1))  # warm-up: parameter gradients, lazy initialisation
        full = justrl_side(torch, model, args) if args.only == "body" else None
        if full is not None:  # the body side allocates the head's gradient too, so bases are comparable
            full(*make_batch(torch, 16, 32, seed=1))
        batch = make_batch(torch, args.prompt, args.tokens[0])
        import gc

        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base = status_bytes("VmRSS:")
        t0 = time.perf_counter()
        step(*batch)
        seconds = time.perf_counter() - t0
        peak = status_bytes("VmHWM:") - base
    print(json.dumps({"side": args.only, "tokens": args.tokens[0], "peak_bytes": peak, "seconds": seconds}))


def compare(args) -> None:
    cap = args.cap_gib
    print(f"Qwen2 vocab {VOCAB:,} (untied head), hidden {args.hidden}, {args.layers} layers; one row of {args.prompt} "
          f"prompt + N response tokens; torch threads {args.threads}; memory cap per side {cap:.1f} GiB")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    header = (f"{'N':>6} {'fp32 logits':>12} {'body':>9} {'justrl':>10} {'TRL 1.16':>10} "
              f"{'justrl-body':>12} {'% logits':>9} {'TRL-body':>10} {'justrl/TRL':>11} {'s j/t':>12}")
    print(header)
    for n in args.tokens:
        row = {}
        for side in ("body", "justrl", "trl"):
            argv = [sys.executable, __file__, "--only", side, "--tokens", str(n), "--prompt", str(args.prompt),
                    "--hidden", str(args.hidden), "--layers", str(args.layers), "--threads", str(args.threads),
                    "--cap-gib", str(cap)]
            proc = subprocess.run(argv, capture_output=True, text=True)
            if proc.returncode == EXCEEDED:
                row[side] = None
            elif proc.returncode != 0:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"train_memory: the {side} side failed at N={n} (exit {proc.returncode})")
            else:
                row[side] = json.loads(proc.stdout.strip().splitlines()[-1])
        logits = n * VOCAB * 4

        def mib(side, row=row):
            return f"{row[side]['peak_bytes'] / 2**20:.0f} MiB" if row[side] else f"exceeded {cap:.0f} GiB"

        body = row["body"]["peak_bytes"] if row["body"] else None
        j = row["justrl"]["peak_bytes"] if row["justrl"] else None
        t = row["trl"]["peak_bytes"] if row["trl"] else None
        beyond_j = f"{(j - body) / 2**20:.0f} MiB" if j is not None and body is not None else "-"
        share = f"{100 * (j - body) / logits:.1f}%" if j is not None and body is not None else "-"
        beyond_t = f"{(t - body) / 2**20:.0f} MiB" if t is not None and body is not None else "-"
        ratio = f"{j / t:.2f}x" if j is not None and t is not None else (
            f"< {j / (cap * 2**30):.2f}x" if j is not None else "-")
        secs = "/".join(f"{row[s]['seconds']:.0f}" if row[s] else "-" for s in ("justrl", "trl"))
        print(f"{n:>6} {logits / 2**30:>9.2f} GiB {mib('body'):>9} {mib('justrl'):>10} {mib('trl'):>10} "
              f"{beyond_j:>12} {share:>9} {beyond_t:>10} {ratio:>11} {secs:>12}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print("peak = resident-set growth during the step; '% logits' = justrl's growth beyond the body's activations "
          "as a share of the full float32 logits (target <= 10% at 16k); justrl/TRL < 1 is better")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[4096, 8192, 16384])
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cap-gib", type=float, default=None, help="memory cap per side (default: half of "
                        "MemAvailable)")
    parser.add_argument("--only", choices=["justrl", "trl", "body"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cap_gib is None:
        args.cap_gib = mem_available() / 2 / 2**30
    if args.cap_gib <= 0:
        print("train_memory: --cap-gib must be positive", file=sys.stderr)
        raise SystemExit(2)
    if args.only:
        run_side(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
