"""The native GRPO training loop, top to bottom (DESIGN.md §5).

One rollout step:
  1. take the next ``prompts_per_step`` prompts (a seeded shuffle per epoch; the position is checkpointed)
  2. sample ``rollouts_per_prompt`` responses per prompt with the rollout engine
  3. score each response with the verifier (+1 / -1; optional DAPO overlong penalty), group advantages
  4. recompute old log-probs (and the pre-update entropy) with the trainer's model
  5. one pass over the batch in mini-batches of ``mini_batch_prompts`` prompts -> one AdamW step each;
     micro-batches accumulate gradients with the loss divided by the mini-batch's token count, so the
     token-mean over the whole mini-batch is exact; grad-norm clip; a non-finite norm skips the step
  6. scheduler step (linear warm-up per rollout step), push weights to the engine, log, validate, save
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from justrl.train import checkpoint as ckpt
from justrl.train.config import RecipeConfig, TrainError
from justrl.train.dist import World, all_sum, unwrap
from justrl.train.grpo import group_advantages, policy_loss, token_entropy_from_logits, token_logprobs


# ----------------------------------------------------------------------------- batch tensors
@dataclass
class Batch:
    """One rank's rollout batch: left-padded prompts (width P) + right-padded responses (width T)."""

    input_ids: object  # [N, P + T] long
    attention_mask: object  # [N, P + T]
    position_ids: object  # [N, P + T], counted from the first real prompt token (as in generate)
    response_mask: object  # [N, T] float, 1 on response tokens
    advantages: object  # [N]
    old_logp: object = None  # [N, T], filled by recompute_old_logp

    @property
    def response_width(self) -> int:
        return self.response_mask.shape[1]

    def rows(self, start: int, stop: int) -> Batch:
        sl = slice(start, stop)
        return Batch(self.input_ids[sl], self.attention_mask[sl], self.position_ids[sl], self.response_mask[sl],
                     self.advantages[sl], None if self.old_logp is None else self.old_logp[sl])


def collate(prompts: list[list[int]], responses: list[list[int]], advantages, pad_id: int, device) -> Batch:
    """Tensors for the trainer's forward passes from token lists (prompts left-, responses right-padded)."""
    import torch

    n = len(prompts)
    p_width = max(len(p) for p in prompts)
    t_width = max(1, max(len(r) for r in responses))
    ids = torch.full((n, p_width + t_width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    rmask = torch.zeros((n, t_width), dtype=torch.float32)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        ids[i, p_width - len(p):p_width] = torch.tensor(p, dtype=torch.long)
        attn[i, p_width - len(p):p_width] = 1
        if r:
            ids[i, p_width:p_width + len(r)] = torch.tensor(r, dtype=torch.long)
            attn[i, p_width:p_width + len(r)] = 1
            rmask[i, : len(r)] = 1.0
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    return Batch(ids.to(device), attn.to(device), pos.to(device), rmask.to(device),
                 torch.as_tensor(advantages, dtype=torch.float32).to(device))


def response_logprobs(model, batch: Batch, *, temperature: float, entropy: bool = False):
    """Per-token log-probs of the response tokens [N, T] (and entropies [N, T] when asked).

    Only the logits of the last T + 1 positions are computed (``logits_to_keep``).
    """
    t = batch.response_width
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids,
                logits_to_keep=t + 1, use_cache=False)
    logits = out.logits[:, :-1]
    targets = batch.input_ids[:, -t:]
    logp = token_logprobs(logits, targets, temperature=temperature)
    ent = token_entropy_from_logits(logits, temperature=temperature) if entropy else None
    return logp, ent


_HEAP: dict = {}
TRIM_MIN_FREE = 64 << 20  # bytes of freed heap worth handing back (below it a trim costs more than it saves)


def _glibc_heap():
    """(malloc_trim, mallinfo2 or None) from glibc, or None where it is not the allocator."""
    if "fns" not in _HEAP:
        import ctypes
        import ctypes.util

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                             "usmblks", "fsmblks", "uordblks", "fordblks",
                                                             "keepcost")]

        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            trim = libc.malloc_trim
        except (OSError, AttributeError):
            _HEAP["fns"] = None
            return None
        info = getattr(libc, "mallinfo2", None)  # glibc >= 2.33
        if info is not None:
            info.restype = MallInfo2
        _HEAP["fns"] = (trim, info)
    return _HEAP["fns"]


def release_host_memory(device: str) -> None:
    """On CPU, hand heap pages freed since the last call back to the OS (glibc ``malloc_trim``).

    Between micro-batches every activation of the last forward/backward is free, but glibc keeps the
    freed pages and, with the heap fragmented by small long-lived allocations, often cannot reuse them
    for the next micro-batch's tensors, so the resident set grows by up to a micro-batch's activations
    per pass. Trimming here keeps the CPU peak near the live peak; it changes no numbers. Only done
    when at least ``TRIM_MIN_FREE`` bytes are free (re-faulting a small heap would cost more than it
    saves). A no-op on GPUs (the CUDA caching allocator) and without glibc.
    """
    if not device.startswith("cpu"):
        return
    fns = _glibc_heap()
    if fns is None:
        return
    trim, info = fns
    if info is not None and info().fordblks < TRIM_MIN_FREE:
        return
    trim(0)


def _autocast(device: str, dtype: str):
    import contextlib

    import torch

    if device.startswith("cuda") and dtype in ("auto", "bfloat16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def recompute_old_logp(model, batch: Batch, config: RecipeConfig, device: str) -> tuple[float, float]:
    """Fill ``batch.old_logp`` with the pre-update policy; return (entropy sum, token count) of this rank."""
    import torch

    pieces, ent_sum, tokens = [], 0.0, 0.0
    with torch.no_grad(), _autocast(device, config.dtype):
        for start in range(0, batch.input_ids.shape[0], config.micro_batch_responses):
            part = batch.rows(start, start + config.micro_batch_responses)
            logp, ent = response_logprobs(model, part, temperature=config.temperature, entropy=True)
            pieces.append(logp)
            ent_sum += float((ent * part.response_mask).sum())
            tokens += float(part.response_mask.sum())
            del logp, ent
            release_host_memory(device)
    batch.old_logp = torch.cat(pieces)
    return ent_sum, tokens


# ----------------------------------------------------------------------------- the update
PG_KEYS = ("actor/pg_loss", "actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl")


def update(model, optimizer, batch: Batch, config: RecipeConfig, world: World) -> dict[str, float]:
    """One pass over this rank's rollout batch: one optimizer step per mini-batch.

    ``batch`` holds, in order, this rank's slice of each global mini-batch (see :func:`rank_prompts`).
    Returns token-weighted means of the loss metrics over the step, the mean pre-clip grad norm, and
    ``actor/skipped_steps`` (optimizer steps dropped for a non-finite gradient norm).
    """
    import torch

    n = config.rollouts_per_prompt
    per_mini = config.mini_batch_prompts * n // world.size
    sums = dict.fromkeys(PG_KEYS, 0.0)
    tokens_seen, norms, skipped = 0.0, [], 0
    model.train()
    for _ in range(config.ppo_epochs):
        for m_start in range(0, batch.input_ids.shape[0], per_mini):
            mini = batch.rows(m_start, m_start + per_mini)
            local_tokens = float(mini.response_mask.sum())
            global_tokens = all_sum(local_tokens, world)
            micro_starts = list(range(0, per_mini, config.micro_batch_responses))
            optimizer.zero_grad(set_to_none=True)
            for k, start in enumerate(micro_starts):
                micro = mini.rows(start, start + config.micro_batch_responses)
                sync = k == len(micro_starts) - 1 or not hasattr(model, "no_sync")
                import contextlib

                ctx = contextlib.nullcontext() if sync else model.no_sync()
                with ctx, _autocast(world.device, config.dtype):
                    logp, _ = response_logprobs(model, micro, temperature=config.temperature)
                    loss, metrics = policy_loss(
                        logp, micro.old_logp, micro.advantages, micro.response_mask, clip_low=config.clip_low,
                        clip_high=config.clip_high, dual_clip=config.dual_clip, aggregation=config.loss_aggregation,
                        normalizer=max(global_tokens, 1.0), num_micro_batches=len(micro_starts))
                    # wrappers average gradients over ranks; scale back to a sum over the global mini-batch
                    (loss * world.size).backward()
                del logp, loss
                release_host_memory(world.device)
                for key in PG_KEYS:
                    sums[key] += metrics[key] * metrics["tokens"]
                tokens_seen += metrics["tokens"]
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
            if math.isfinite(norm):
                optimizer.step()
                norms.append(norm)
            else:
                skipped += 1
            optimizer.zero_grad(set_to_none=True)
    total = all_sum(tokens_seen, world)
    out = {key: all_sum(value, world) / max(total, 1.0) for key, value in sums.items()}
    out["actor/grad_norm"] = sum(norms) / len(norms) if norms else float("nan")
    out["actor/skipped_steps"] = float(skipped)
    return out


# ----------------------------------------------------------------------------- rewards
def overlong_penalty(length: int, max_len: int, buffer: int, factor: float) -> float:
    """DAPO's soft overlong punishment: min(0, (max_len - buffer - length) / buffer) * factor."""
    return min(0.0, (max_len - buffer - length) / buffer) * factor


def score_responses(texts: list[str], golds: list[str], lengths: list[int], config: RecipeConfig) -> list[float]:
    """Verifier score (+1 correct / -1 otherwise, ``reward_mode``) plus the overlong penalty when enabled."""
    from justrl.verify import verify_many

    workers = 1 if len(texts) < 256 else None  # a process pool only pays off for large batches
    verdicts = verify_many(list(zip(texts, golds, strict=True)), mode=config.reward_mode, workers=workers)
    scores = [v.score for v in verdicts]
    if config.overlong_penalty:
        scores = [s + overlong_penalty(n, config.max_response_tokens, config.overlong_buffer, config.overlong_factor)
                  for s, n in zip(scores, lengths, strict=True)]
    return scores


# ----------------------------------------------------------------------------- data order
def rank_prompts(items: list, mini_batch: int, world: World) -> list:
    """This rank's share of a step's prompts: its slice of every global mini-batch, mini-batch by mini-batch."""
    if mini_batch % world.size:
        raise TrainError(f"mini_batch_prompts={mini_batch} must be divisible by the {world.size} processes")
    per = mini_batch // world.size
    out = []
    for start in range(0, len(items), mini_batch):
        out.extend(items[start + world.rank * per:start + (world.rank + 1) * per])
    return out


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The prompt order of one epoch: a permutation seeded by (seed, epoch)."""
    order = list(range(n))
    random.Random(seed * 100_003 + epoch).shuffle(order)
    return order


def take_prompts(n_prompts: int, cursor: int, count: int, seed: int) -> list[int]:
    """Indices of the ``count`` prompts after position ``cursor`` of the endless epoch sequence."""
    out = []
    for pos in range(cursor, cursor + count):
        epoch, offset = divmod(pos, n_prompts)
        out.append(epoch_order(n_prompts, seed, epoch)[offset])
    return out


# ----------------------------------------------------------------------------- setup
def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_policy(config: RecipeConfig, run_dir: Path, device: str):
    """(model, tokenizer) in float32 parameters (bf16 compute via autocast on GPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = config.model
    if source == "toy":
        from justrl.train.toy import build_toy_model

        source = str(build_toy_model(run_dir / "toy-model"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    except OSError as exc:
        raise TrainError(f"could not load model {config.model!r} ({str(exc).splitlines()[0]}); check the id or "
                         f"path, or download it while online") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    if device.startswith("cuda") and config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    return model, tokenizer


def lr_factor(step_index: int, warmup: int) -> float:
    """LR multiplier at rollout step ``step_index`` (0-based): linear from 0 over ``warmup`` steps, then 1.

    Exactly veRL's constant schedule (``verl.utils.torch_functional.get_constant_schedule_with_warmup``:
    ``min(1, s / max(1, num_warmup_steps))``, a ``LambdaLR`` that veRL steps once per rollout step after
    the update): rollout step 1 trains with lr 0, step ``warmup + 1`` is the first at the full lr. As in
    veRL, ``warmup`` 0 behaves like 1 (step 1 still has lr 0), so both engines follow the same lr curve.
    """
    return min(1.0, step_index / max(1, warmup))


def make_optimizer(model, config: RecipeConfig):
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=tuple(config.adam_betas),
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config.warmup_steps))
    return optimizer, scheduler


# ----------------------------------------------------------------------------- validation
def validate(model, tokenizer, config: RecipeConfig, run_dir: Path, step: int, *,
             data_dir: str | Path | None = None) -> dict[str, float]:
    """avg@k on ``config.val_benchmarks`` through justrl.evaluate (fraction correct, lenient grading).

    ``data_dir``: a JustRL-style benchmark folder (else justrl's cache or the Hub; HF_HUB_OFFLINE is honoured).
    """
    if not config.val_benchmarks:
        return {}
    from justrl.evaluate.backends.hf import HFBackend
    from justrl.evaluate.protocol import Protocol
    from justrl.evaluate.runner import run_eval

    protocol = Protocol(suffix=config.prompt_suffix, temperature=config.val_temperature, top_p=config.val_top_p,
                        max_tokens=config.max_response_tokens, n=config.val_samples, seed=config.seed)
    backend = HFBackend.from_model(unwrap(model), tokenizer)
    from justrl.train.data import _offline

    result = run_eval(backend, list(config.val_benchmarks), output_dir=run_dir / "val" / f"step_{step}",
                      protocol=protocol, data_dir=data_dir, offline=_offline(), progress=False, summary=False)
    benches = (result.results or {}).get("benchmarks", {})
    return {f"val/{name}/avg@{config.val_samples}": float(b["avg_at_n"]) / 100.0 for name, b in benches.items()}


# ----------------------------------------------------------------------------- the run
def write_json_atomic(path: Path, data) -> None:
    """``data`` as indented JSON, written atomically (temporary file + rename, readable by all)."""
    from justrl.evaluate.report import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2))


class MetricsLog:
    """RUN/metrics.jsonl (append + flush) and, when installed and asked, TensorBoard scalars."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = False):
        self.path = run_dir / "metrics.jsonl"
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                self.writer = None

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (a resumed run re-does them)."""
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if row.get("step", 0) <= step:
                keep.append(line)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{line}\n" for line in keep))
        tmp.replace(self.path)

    def append(self, row: dict) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
        if self.writer is not None:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, row["step"])
            self.writer.flush()


def train(config: RecipeConfig, run_dir: str | Path, *, resume: bool = False, world: World | None = None,
          progress: bool = True, tensorboard: bool = False, max_steps: int | None = None,
          data_dir: str | Path | None = None) -> list[dict]:
    """Run (or resume) GRPO training into ``run_dir``; returns the metric rows of this session.

    ``max_steps`` stops after that many rollout steps of this session (the run can be resumed later).
    ``data_dir``: where validation reads its benchmarks (see :func:`validate`).
    """
    import numpy as np
    import torch

    from justrl.train.data import deduplicate, load_train_records, tokenize_prompts
    from justrl.train.presets import to_dict
    from justrl.train.rollout import make_engine

    world = world or World(device=pick_device())
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    model, tokenizer = load_policy(config, run_dir, world.device)
    records = deduplicate(load_train_records(config.train_data))
    prompts, dropped = tokenize_prompts(records, tokenizer, suffix=config.prompt_suffix,
                                        use_chat_template=config.use_chat_template,
                                        max_prompt_tokens=config.max_prompt_tokens)
    if world.main:
        print(f"justrl-train: {len(prompts)} prompts ({dropped} longer than {config.max_prompt_tokens} tokens "
              f"filtered out)", file=sys.stderr)
    if not prompts:
        raise TrainError(f"no training prompt fits max_prompt_tokens={config.max_prompt_tokens}")
    if world.main:
        saved = run_dir / "config.json"
        meta = json.loads(saved.read_text()) if resume and saved.exists() else {"command": sys.argv}
        if resume:
            meta.setdefault("resumed", []).append(sys.argv)
        write_json_atomic(saved, {**meta, "config": to_dict(config)})

    state = {"step": 0, "cursor": 0}
    log = MetricsLog(run_dir, tensorboard=tensorboard and world.main)
    if not resume and config.warm_start_steps:
        from justrl.train.toy import warm_start

        warm_start(model, tokenizer, prompts, steps=config.warm_start_steps, lr=config.warm_start_lr, seed=config.seed)
    policy = _wrap(model, world)
    optimizer, scheduler = make_optimizer(policy, config)
    if resume:
        state = ckpt.load_latest(run_dir, unwrap(policy), optimizer, scheduler, device=world.device)
        if world.main:
            log.truncate_after(state["step"])
    engine = make_engine(config, policy, tokenizer, world.device)
    if resume:
        engine.sync_weights()

    rows = []
    last = config.total_steps if max_steps is None else min(config.total_steps, state["step"] + max_steps)
    bar = _Progress(enabled=progress and world.main, start=state["step"], total=config.total_steps)
    with bar:
        while state["step"] < last:
            step = state["step"] + 1
            t0 = time.perf_counter()
            # 1. prompts of this step (same on every rank), this rank's share
            picked = take_prompts(len(prompts), state["cursor"], config.prompts_per_step, config.seed)
            mine = [prompts[i] for i in rank_prompts(picked, config.mini_batch_prompts, world)]
            # 2. rollouts
            rollouts = engine.generate([p.ids for p in mine], config.rollouts_per_prompt,
                                       max_new_tokens=config.max_response_tokens, temperature=config.temperature,
                                       top_p=config.top_p)
            t_gen = time.perf_counter() - t0
            release_host_memory(world.device)  # the generation's KV cache is free now
            # 3. rewards and advantages
            golds = [p.gold for p in mine for _ in range(config.rollouts_per_prompt)]
            texts = tokenizer.batch_decode(rollouts.response_ids, skip_special_tokens=True)
            lengths = [len(r) for r in rollouts.response_ids]
            scores = score_responses(texts, golds, lengths, config)
            adv = group_advantages(torch.tensor(scores), config.rollouts_per_prompt, config.adv_eps)
            batch = collate(rollouts.prompt_ids, rollouts.response_ids, adv, tokenizer.pad_token_id, world.device)
            # 4. old log-probs and pre-update entropy
            t1 = time.perf_counter()
            ent_sum, tokens = recompute_old_logp(policy, batch, config, world.device)
            t_old = time.perf_counter() - t1
            # 5. the update
            t2 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            metrics = update(policy, optimizer, batch, config, world)
            scheduler.step()
            engine.sync_weights()
            t_update = time.perf_counter() - t2
            # 6. log
            n_all = all_sum(len(scores), world)
            resp_tokens = all_sum(sum(lengths), world)
            step_time = time.perf_counter() - t0
            row = {
                "step": step,
                "critic/score/mean": all_sum(sum(scores), world) / n_all,
                "critic/advantages/mean": all_sum(float(adv.sum()), world) / n_all,
                "actor/entropy": all_sum(ent_sum, world) / max(all_sum(tokens, world), 1.0),
                "response_length/mean": resp_tokens / n_all,
                "response_length/clip_ratio": all_sum(sum(rollouts.truncated), world) / n_all,
                **metrics,
                "actor/lr": lr,
                "timing_s/gen": t_gen,
                "timing_s/old_log_prob": t_old,
                "timing_s/update": t_update,
                "timing_s/step": step_time,
                "perf/tokens_per_s": (all_sum(sum(len(p) for p in rollouts.prompt_ids), world) + resp_tokens)
                / step_time / world.size,
            }
            if rollouts.engine_logprobs is not None:
                row["rollout/logp_diff"] = _logp_diff(rollouts.engine_logprobs, batch, world)
            state = {"step": step, "cursor": state["cursor"] + config.prompts_per_step}
            if config.val_every and step % config.val_every == 0 and world.main:
                row.update(validate(policy, tokenizer, config, run_dir, step, data_dir=data_dir))
            if world.main:
                log.append(row)
            rows.append(row)
            bar.advance(row)
            if (config.save_every and step % config.save_every == 0) or step == config.total_steps:
                ckpt.save(run_dir, unwrap(policy), optimizer, scheduler, state, world=world)
    if world.main and state["step"] >= config.total_steps:
        unwrap(policy).save_pretrained(str(run_dir / "final"))
        tokenizer.save_pretrained(str(run_dir / "final"))
    return rows


def _wrap(model, world: World):
    from justrl.train.dist import wrap_model

    return wrap_model(model, world, fsdp=world.device.startswith("cuda") and world.size > 1)


def _logp_diff(engine_logprobs: list[list[float]], batch: Batch, world: World) -> float:
    """Mean |engine log-prob - trainer old log-prob| over response tokens (stale weights show here)."""
    total, count = 0.0, 0
    old = batch.old_logp.tolist()
    for i, seq in enumerate(engine_logprobs):
        for j, value in enumerate(seq):
            total += abs(value - old[i][j])
            count += 1
    return all_sum(total, world) / max(all_sum(count, world), 1.0)


class _Progress:
    """A rich progress bar over rollout steps showing the latest mean score and entropy."""

    def __init__(self, *, enabled: bool, start: int, total: int):
        self.enabled, self.start, self.total = enabled, start, total
        self.progress = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False)
            self.progress.__enter__()
            self.task = self.progress.add_task("train", total=self.total, completed=self.start, info="")
        return self

    def advance(self, row: dict) -> None:
        if self.progress is not None:
            info = (f"score {row['critic/score/mean']:+.3f}  entropy {row['actor/entropy']:.3f}  "
                    f"len {row['response_length/mean']:.0f}  {row['timing_s/step']:.1f}s/step")
            self.progress.update(self.task, advance=1, info=info)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False
