"""One GRPO update step on CPU: justrl's update vs TRL 1.16 GRPOTrainer's, same tiny model and batch.

Both sides do the same work: old log-probs for the batch (no grad), then one pass of loss + backward
over the batch in micro-batches, grad-norm clip and one AdamW step. Each side runs in its own fresh
process. Time per step is the median of ``--repeats`` steps after one warm-up step (wall and process CPU
time; CPU time is steadier on a shared machine); peak memory is the process's peak resident set during
the steps (VmHWM, its mark reset just before the first step; ``ru_maxrss`` where that is unsupported)
minus its resident set just before the first step, i.e. what the steps added on top of the loaded model
and batch (RSS covers torch's CPU allocator; tracemalloc would miss it). Both sides start level: freed
heap pages are returned to the OS (``malloc_trim``) before the base is read, so setup garbage that one
side's step could reuse without growing its resident set does not flatter that side. Run: ``.venv/bin/python bench/train_step.py`` (needs trl + datasets, dev-only).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time


class PeakRSS:
    """Peak resident set size growth (bytes) while the context is open, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.001):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self.base)
            time.sleep(self.interval)

    def __enter__(self):
        self.base = self._rss()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()
        self.peak = max(self.peak, self._rss() - self.base)


def trim_heap() -> None:
    """glibc ``malloc_trim(0)``: give freed heap pages back to the OS (no-op without glibc)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (``/proc/self/clear_refs`` 5); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """The process's peak resident set (VmHWM) in bytes since start or the last :func:`reset_peak_rss`."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def make_batch(torch, n: int, prompt_len: int, resp_len: int, vocab: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    prompts = torch.randint(10, vocab - 10, (n, prompt_len), generator=gen)
    responses = torch.randint(10, vocab - 10, (n, resp_len), generator=gen)
    lengths = torch.randint(resp_len // 2, resp_len + 1, (n,), generator=gen)
    mask = (torch.arange(resp_len).unsqueeze(0) < lengths.unsqueeze(1)).long()
    adv = torch.randn(n, generator=gen)
    return prompts, responses, mask, adv


def justrl_step(torch, model, optimizer, config, batch):
    """justrl's trainer path: collate, old log-probs, one update pass (sequence_logprobs + policy_loss)."""
    from justrl.train.dist import World
    from justrl.train.loop import collate, recompute_old_logp, update

    prompts, responses, mask, adv = batch
    lengths = mask.sum(1).tolist()
    b = collate(prompts.tolist(), [r[:n] for r, n in zip(responses.tolist(), lengths, strict=True)], adv, 0, "cpu")
    world = World()
    recompute_old_logp(model, b, config, world)
    update(model, optimizer, b, config, world)


def trl_trainer(torch, model, tokenizer, n, micro, resp_len, out):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(output_dir=out, loss_type="dapo", epsilon=0.2, epsilon_high=0.28, delta=10.0, beta=0.0,
                      num_generations=8, per_device_train_batch_size=micro, gradient_accumulation_steps=n // micro,
                      steps_per_generation=n // micro, max_completion_length=resp_len, report_to=[], use_cpu=True,
                      bf16=False, learning_rate=1e-6, weight_decay=0.1, max_grad_norm=1.0, gradient_checkpointing=False)
    trainer = GRPOTrainer(model=model, reward_funcs=lambda completions, **kw: [0.0] * len(completions), args=args,
                          train_dataset=Dataset.from_dict({"prompt": ["x"] * n}), processing_class=tokenizer)
    trainer.create_optimizer()
    trainer.current_gradient_accumulation_steps = n // micro
    return trainer


def trl_step(torch, trainer, model, batch, micro):
    prompts, responses, mask, adv = batch
    n = prompts.shape[0]
    ids = torch.cat([prompts, responses], 1)
    attn = torch.cat([torch.ones_like(prompts), mask], 1)
    with torch.no_grad():  # what TRL does in _generate_and_score_completions when old log-probs are needed
        old = torch.cat([trainer._get_per_token_logps_and_entropies(model, ids[i:i + micro], attn[i:i + micro],
                                                                    responses.shape[1])[0]
                         for i in range(0, n, micro)])
    model.train()
    trainer.optimizer.zero_grad(set_to_none=True)
    for i in range(0, n, micro):
        sl = slice(i, i + micro)
        inputs = {"prompt_ids": prompts[sl], "prompt_mask": torch.ones_like(prompts[sl]),
                  "completion_ids": responses[sl], "completion_mask": mask[sl], "advantages": adv[sl],
                  "old_per_token_logps": old[sl], "num_items_in_batch": mask.sum()}
        trainer._compute_loss(model, inputs).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    trainer.optimizer.step()
    trainer.optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=64)
    parser.add_argument("--micro", type=int, default=16)
    parser.add_argument("--prompt-len", type=int, default=64)
    parser.add_argument("--response-len", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=0,
                        help="justrl's token budget per micro-batch (0: --micro rows each, as TRL's side)")
    parser.add_argument("--only", choices=["justrl", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--gpu-loop", metavar="RUN", help="instead: a few full native-loop steps of a mid-sized "
                        "random Qwen2 on the GPU (bf16 autocast, HF rollouts); prints tokens/s and peak memory")
    args = parser.parse_args()
    if args.gpu_loop:
        return gpu_loop(args)
    if args.only is None:
        return compare(args)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.evaluate.tiny import build_tiny_model
    from justrl.train.config import RecipeConfig

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_model(os.path.join(tmp, "m"), hidden_size=args.hidden, num_layers=args.layers,
                                num_heads=4)
        tokenizer = AutoTokenizer.from_pretrained(path)
        batch = make_batch(torch, args.responses, args.prompt_len, args.response_len, len(tokenizer))
        config = RecipeConfig(prompts_per_step=args.responses // 8, rollouts_per_prompt=8, warmup_steps=0,
                              mini_batch_prompts=args.responses // 8, micro_batch_responses=args.micro,
                              **({"max_tokens_per_micro_batch": args.max_tokens}
                                 if "max_tokens_per_micro_batch" in RecipeConfig.__dataclass_fields__ else {}))
        results = {}
        for name in (args.only,):
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
            if name == "trl":
                trainer = trl_trainer(torch, model, tokenizer, args.responses, args.micro, args.response_len,
                                      os.path.join(tmp, "trl"))
                step = lambda: trl_step(torch, trainer, model, batch, args.micro)  # noqa: E731, B023
            else:
                from justrl.train.loop import make_optimizer

                optimizer, _ = make_optimizer(model, config)
                step = lambda: justrl_step(torch, model, optimizer, config, batch)  # noqa: E731, B023
            # Same starting line for both sides: without this, heap pages that setup freed but glibc kept
            # (TRL builds a Trainer, an Accelerator and a dataset first) count in the base, and that side's
            # step reuses them for free while the other side must grow its resident set.
            gc.collect()
            trim_heap()
            base = PeakRSS()._rss()
            reset_hiwater = reset_peak_rss()  # so a setup peak (model load, Trainer) cannot count as the step's
            step()  # warm-up (allocator, lazy init)
            times, cpu = [], []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            peak = (peak_rss() if reset_hiwater else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) - base
            results[name] = (statistics.median(times), peak, statistics.median(cpu))
    print(json.dumps({"name": args.only, "seconds": results[args.only][0], "peak_bytes": results[args.only][1],
                      "cpu_seconds": results[args.only][2], "threads": torch.get_num_threads()}))


def gpu_loop(args) -> None:
    """Full GRPO steps (rollout, reward, old log-probs, update) of a random Qwen2 on one GPU."""
    import dataclasses

    import torch

    from justrl.evaluate.tiny import build_tiny_model
    from justrl.train.loop import train
    from justrl.train.presets import resolve_config

    run = os.path.abspath(args.gpu_loop)
    path = build_tiny_model(os.path.join(run, "mid-model"), hidden_size=args.hidden, num_layers=args.layers,
                            num_heads=16)
    config = dataclasses.replace(resolve_config("toy"), model=str(path), warm_start_steps=0, total_steps=args.repeats,
                                 prompts_per_step=64, rollouts_per_prompt=8, mini_batch_prompts=16,
                                 micro_batch_responses=64, max_response_tokens=args.response_len, lr=1e-5,
                                 dtype="bfloat16", gradient_checkpointing=True, save_every=0)
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):  # parameter count from the config, no weights allocated
        params = sum(p.numel() for p in AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(path))).parameters())
    run_dir = os.path.join(run, time.strftime("run-%Y%m%d-%H%M%S"))  # train() refuses a folder holding a run
    torch.cuda.reset_peak_memory_stats()
    rows = train(config, run_dir, progress=False)
    print(json.dumps({"device": torch.cuda.get_device_name(), "params": params,
                      "peak_gpu_bytes": torch.cuda.max_memory_allocated(), "rows": rows}))


def compare(args) -> None:
    """Run each side in its own fresh process (so one's heap does not flatter the other) and print ratios."""
    results = {}
    for name in ("justrl", "trl"):
        argv = [sys.executable, __file__, "--only", name] + [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                                                            if k not in ("only", "gpu_loop") and v is not None]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        row = json.loads(out)
        results[name] = (row["seconds"], row["peak_bytes"], row["cpu_seconds"])
    (jt, jm, jc), (tt, tm, tc) = results["justrl"], results["trl"]
    print(f"batch: {args.responses} responses x ({args.prompt_len} prompt + {args.response_len} response) tokens, "
          f"micro-batch {args.micro}; model: Qwen2 hidden {args.hidden}, {args.layers} layers; "
          f"torch threads {row['threads']}, each side in a fresh process")
    print(f"{'':8}{'s/step':>10}{'CPU s/step':>12}{'peak RSS growth MiB':>22}")
    for name, (t, m, c) in results.items():
        print(f"{name:8}{t:10.3f}{c:12.3f}{m / 2**20:22.1f}")
    print(f"ratio justrl/trl: time {jt / tt:.2f}x (CPU time {jc / tc:.2f}x), peak memory {jm / max(tm, 1):.2f}x "
          f"(lower is better)")


if __name__ == "__main__":
    main()
