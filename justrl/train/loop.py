"""The native GRPO training loop, top to bottom (DESIGN.md §5).

Before the first step: claim the run folder (lock; a fresh run refuses a used folder; a resume cuts
metrics back to its checkpoint), load the policy and prompts, restore the newest readable checkpoint,
build the rollout engine and push the current weights into it, validate once (``val_before_train``).

One rollout step:
  1. take the next ``prompts_per_step`` prompts (a seeded shuffle per epoch; the position is checkpointed)
  2. sample ``rollouts_per_prompt`` responses per prompt with the rollout engine, each with its own seed
     derived from (seed, step, prompt, sample), so a resumed run draws the same samples
  3. score each response with the verifier (+1 / -1; optional DAPO overlong penalty), group advantages
  4. old log-probs (and the pre-update entropy) with the trainer's model in eval mode, no gradient
  5. one pass over the batch in mini-batches of ``mini_batch_prompts`` prompts -> one AdamW step each;
     micro-batches packed by token budget (each padded to its own longest row) accumulate gradients with
     the loss divided by the mini-batch's token count, so the token-mean over the whole mini-batch is
     exact; grad-norm clip; a non-finite norm skips the step
  6. scheduler step (linear warm-up per rollout step), push weights to the engine, log, validate, save
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from justrl.train import checkpoint as ckpt
from justrl.train.config import RecipeConfig, TrainError
from justrl.train.dist import World, all_max, all_sum, unwrap
from justrl.train.grpo import backward_scale, group_advantages, policy_loss, sequence_logprobs


# ----------------------------------------------------------------------------- batch tensors
@dataclass
class Batch:
    """One rank's rollout batch: left-padded prompts (width P) + right-padded responses (width T)."""

    input_ids: object  # [N, P + T] long
    attention_mask: object  # [N, P + T]
    response_mask: object  # [N, T] float, 1 on response tokens
    advantages: object  # [N]
    prompt_lengths: list[int]
    response_lengths: list[int]
    old_logp: object = None  # [N, T], filled by recompute_old_logp

    @property
    def response_width(self) -> int:
        return self.response_mask.shape[1]

    def rows(self, start: int, stop: int) -> Batch:
        sl = slice(start, stop)
        return Batch(self.input_ids[sl], self.attention_mask[sl], self.response_mask[sl], self.advantages[sl],
                     self.prompt_lengths[sl], self.response_lengths[sl],
                     None if self.old_logp is None else self.old_logp[sl])


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
    return Batch(ids.to(device), attn.to(device), rmask.to(device),
                 torch.as_tensor(advantages, dtype=torch.float32).to(device),
                 [len(p) for p in prompts], [len(r) for r in responses])


# ----------------------------------------------------------------------------- micro-batches
def micro_batches(batch: Batch, config: RecipeConfig, world: World) -> list:
    """This rank's rows of ``batch`` packed into micro-batches, the same number on every rank.

    ``max_tokens_per_micro_batch`` > 0: first-fit-decreasing by (rows x own padded width) <= budget (JustRL's
    ``use_dynamic_bsz`` with 32,768 tokens per GPU); 0: at most ``micro_batch_responses`` rows each. Every rank
    runs as many forwards as the busiest one (FSDP2 all-gathers in lock-step; veRL 0.4 does the same,
    ``rearrange_micro_batches(same_micro_num_in_dp=True)``).
    """
    from justrl.train.microbatch import pack_micro_batches

    n = len(batch.prompt_lengths)
    if config.max_tokens_per_micro_batch > 0:
        budget, cap = config.max_tokens_per_micro_batch, None
    else:
        budget, cap = 1 << 62, config.micro_batch_responses
    mbs = pack_micro_batches(batch.prompt_lengths, batch.response_lengths, budget, max_rows=cap)
    count = int(all_max(len(mbs), world))
    if count > len(mbs):
        mbs = pack_micro_batches(batch.prompt_lengths, batch.response_lengths, budget, max_rows=cap,
                                 min_count=min(count, n))
    return mbs


def _micro_inputs(batch: Batch, mb):
    from justrl.train.microbatch import take_sequence

    t = batch.response_width
    return take_sequence(batch.input_ids, mb, t), take_sequence(batch.attention_mask, mb, t)


def _autocast(device: str, dtype: str):
    import torch

    if device.startswith("cuda") and dtype in ("auto", "bfloat16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def recompute_old_logp(model, batch: Batch, config: RecipeConfig, world: World) -> tuple[float, float]:
    """Fill ``batch.old_logp`` with the pre-update policy (eval mode, no gradient, before the step's first
    update, as veRL's ``compute_log_prob``); return (entropy sum, token count) of this rank."""
    import torch

    from justrl.train.microbatch import put_response, take_response

    old = torch.zeros_like(batch.response_mask)
    ent_sum, tokens = 0.0, 0.0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _autocast(world.device, config.dtype):
            for mb in micro_batches(batch, config, world):
                ids, attn = _micro_inputs(batch, mb)
                logp, ent = sequence_logprobs(model, ids, attn, mb.response_width, temperature=config.temperature,
                                              entropy=True)
                put_response(old, mb, logp.float())
                mask = take_response(batch.response_mask, mb)
                ent_sum += float((ent.float() * mask).sum())
                tokens += float(mask.sum())
                del logp, ent
                release_host_memory(world.device)
    finally:
        model.train(was_training)
    batch.old_logp = old
    return ent_sum, tokens


# ----------------------------------------------------------------------------- the update
PG_KEYS = ("actor/pg_loss", "actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl")


def _grad_sync(model, enabled: bool):
    """Gradient all-reduce on (the last micro-batch) or off (the others): DDP ``no_sync``, FSDP2's switch."""
    if enabled:
        return contextlib.nullcontext()
    if hasattr(model, "no_sync"):
        return model.no_sync()
    if hasattr(model, "set_requires_gradient_sync"):
        @contextlib.contextmanager
        def off():
            model.set_requires_gradient_sync(False)
            try:
                yield
            finally:
                model.set_requires_gradient_sync(True)
        return off()
    return contextlib.nullcontext()


def update(model, optimizer, batch: Batch, config: RecipeConfig, world: World) -> dict[str, float]:
    """One pass over this rank's rollout batch: one optimizer step per mini-batch.

    ``batch`` holds, in order, this rank's slice of each global mini-batch (see :func:`rank_prompts`).
    Returns token-weighted means of the loss metrics over the step, the mean pre-clip grad norm, and
    ``actor/skipped_steps`` (optimizer steps dropped for a non-finite gradient norm).
    """
    import torch

    from justrl.train.microbatch import take_response, take_rows

    per_mini = config.mini_batch_prompts * config.rollouts_per_prompt // world.size
    scale = backward_scale(config.loss_aggregation, world.size)
    sums = dict.fromkeys(PG_KEYS, 0.0)
    tokens_seen, norms, skipped = 0.0, [], 0
    model.train()
    for _ in range(config.ppo_epochs):
        for m_start in range(0, batch.input_ids.shape[0], per_mini):
            mini = batch.rows(m_start, m_start + per_mini)
            rows = len(mini.prompt_lengths)
            global_tokens = all_sum(float(mini.response_mask.sum()), world)
            mbs = micro_batches(mini, config, world)
            optimizer.zero_grad(set_to_none=True)
            for k, mb in enumerate(mbs):
                ids, attn = _micro_inputs(mini, mb)
                with _grad_sync(model, k == len(mbs) - 1), _autocast(world.device, config.dtype):
                    logp, _ = sequence_logprobs(model, ids, attn, mb.response_width, temperature=config.temperature)
                    loss, metrics = policy_loss(
                        logp, take_response(mini.old_logp, mb), take_rows(mini.advantages, mb),
                        take_response(mini.response_mask, mb), clip_low=config.clip_low, clip_high=config.clip_high,
                        dual_clip=config.dual_clip, aggregation=config.loss_aggregation,
                        normalizer=max(global_tokens, 1.0), num_micro_batches=len(mbs),
                        micro_weight=len(mb.rows) / rows)
                    (loss * scale).backward()
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


# ----------------------------------------------------------------------------- host memory
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
    when at least ``TRIM_MIN_FREE`` bytes are free. A no-op on GPUs and without glibc.
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
    """This rank's share of a step's prompts: its slice of every global mini-batch, mini-batch by mini-batch.

    Groups stay together: all ``rollouts_per_prompt`` responses of a prompt are on one rank, in one mini-batch.
    """
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


_ORDER_CACHE: dict[tuple[int, int, int], list[int]] = {}


def take_prompts(n_prompts: int, cursor: int, count: int, seed: int) -> list[int]:
    """Indices of the ``count`` prompts after position ``cursor`` of the endless epoch sequence.

    Each epoch's permutation is built once and kept (the last two epochs), not once per prompt.
    """
    out = []
    for pos in range(cursor, cursor + count):
        epoch, offset = divmod(pos, n_prompts)
        key = (n_prompts, seed, epoch)
        if key not in _ORDER_CACHE:
            for old in [k for k in _ORDER_CACHE if k[:2] == key[:2] and k[2] < epoch - 1]:
                del _ORDER_CACHE[old]
            _ORDER_CACHE[key] = epoch_order(n_prompts, seed, epoch)
        out.append(_ORDER_CACHE[key][offset])
    return out


# ----------------------------------------------------------------------------- setup
def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_policy(config: RecipeConfig, run_dir: Path, device: str, world: World | None = None):
    """(model, tokenizer) in float32 parameters (bf16 compute via autocast on GPU).

    The toy model is built by rank 0 alone (the others wait, then read it).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.train.dist import barrier

    source = config.model
    if source == "toy":
        from justrl.train.toy import build_toy_model

        source = str(run_dir / "toy-model")
        if world is None or world.main:
            build_toy_model(run_dir / "toy-model")
        if world is not None:
            barrier(world)
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
        # non-reentrant: works under DDP/FSDP2 and with inputs that need no grad
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    return model, tokenizer


def load_prompts(config: RecipeConfig, tokenizer, world: World):
    """The tokenised training prompts (``prompt_format``; deduplicated only when ``deduplicate``)."""
    from justrl.train.data import deduplicate, load_train_records, tokenize_prompts

    records = load_train_records(config.train_data, prompt_format=config.prompt_format)
    if config.deduplicate:
        records = deduplicate(records)
    prompts, dropped = tokenize_prompts(records, tokenizer, suffix=config.prompt_suffix,
                                        use_chat_template=config.use_chat_template,
                                        max_prompt_tokens=config.max_prompt_tokens)
    if world.main:
        print(f"justrl-train: {len(prompts)} prompts ({dropped} longer than {config.max_prompt_tokens} tokens "
              f"filtered out)", file=sys.stderr)
    if not prompts:
        raise TrainError(f"no training prompt fits max_prompt_tokens={config.max_prompt_tokens}")
    return prompts


def lr_factor(step_index: int, warmup: int) -> float:
    """LR multiplier at rollout step ``step_index`` (0-based): linear from 0 over ``warmup`` steps, then 1.

    veRL's constant schedule (volcengine/verl @ b178a3c, ``verl/utils/torch_functional.py``,
    ``get_constant_schedule_with_warmup``: ``lr_lambda(s) = s / max(1, W) if s < W else 1.0``, a ``LambdaLR``
    that veRL steps once per rollout step after the update). With ``warmup`` W > 0 rollout step 1 trains
    with lr 0 and step W + 1 is the first at the full lr; with W = 0 (``s < 0`` never holds) every step,
    the first included, has the full lr. veRL's FSDP engine replaces ``lr_warmup_steps <= 0`` by
    ``int(lr_warmup_steps_ratio * total_steps)``, 0 with the default ratio 0.0 (``transformer_impl.py``).
    """
    if step_index < warmup:
        return step_index / max(1, warmup)
    return 1.0


def make_optimizer(model, config: RecipeConfig):
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=tuple(config.adam_betas),
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config.warmup_steps))
    return optimizer, scheduler


def write_json_atomic(path: Path, data) -> None:
    """``data`` as indented JSON, written atomically (temporary file + rename, readable by all)."""
    from justrl.evaluate.files import atomic_write_json

    atomic_write_json(path, data)


def _save_config(run_dir: Path, config: RecipeConfig, resume: bool, first_prompt: str) -> None:
    from justrl.evaluate.files import UnsafeFileError, read_regular
    from justrl.train.presets import to_dict

    saved = run_dir / "config.json"
    meta = {"command": sys.argv}
    if resume:
        try:
            meta = json.loads(read_regular(saved)[0])
        except (UnsafeFileError, OSError, ValueError) as exc:
            raise TrainError(f"{saved} cannot be read ({str(exc).splitlines()[0]})") from None
        meta.setdefault("resumed", []).append(sys.argv)
    try:
        write_json_atomic(saved, {**meta, "config": to_dict(config), "first_prompt": first_prompt})
    except OSError as exc:
        from justrl.evaluate.files import describe_os_error

        raise TrainError(describe_os_error(exc, "write", saved)) from None


# ----------------------------------------------------------------------------- the run
def train(config: RecipeConfig, run_dir: str | Path, *, resume: bool = False, world: World | None = None,
          progress: bool = True, tensorboard: bool = False, max_steps: int | None = None,
          data_dir: str | Path | None = None, fsdp: bool | None = None) -> list[dict]:
    """Run (or resume) GRPO training into ``run_dir``; returns the metric rows of this session.

    ``max_steps`` stops after that many rollout steps of this session (the run can be resumed later).
    ``data_dir``: where validation reads its benchmarks. ``fsdp``: shard with FSDP2 (default: on GPUs when
    there are several processes; DDP otherwise).
    """
    import numpy as np
    import torch

    from justrl.train.dist import barrier
    from justrl.train.rollout import make_engine, rollout_seeds
    from justrl.train.runlog import MetricsLog, claim
    from justrl.train.validation import due, validate

    world = world or World(device=pick_device())
    run_dir = Path(run_dir)
    lock = claim(run_dir, resume=resume, command=sys.argv) if world.main else None
    barrier(world)
    try:
        random.seed(config.seed)
        np.random.seed(config.seed)
        torch.manual_seed(config.seed)
        model, tokenizer = load_policy(config, run_dir, world.device, world)
        prompts = load_prompts(config, tokenizer, world)
        if world.main:
            _save_config(run_dir, config, resume, tokenizer.decode(prompts[0].ids))
        restore = resume and ckpt.has_checkpoint(run_dir)
        if not restore:  # a fresh run, or a resumed one killed before its first checkpoint: start over
            if resume and world.main:
                print("justrl-train: no checkpoint yet; starting the run over from step 0", file=sys.stderr)
            if config.warm_start_steps:  # on the plain model, before DDP/FSDP2 wrap it (same seed on every rank)
                from justrl.train.toy import warm_start

                warm_start(model, tokenizer, prompts, steps=config.warm_start_steps, lr=config.warm_start_lr,
                           seed=config.seed)
        policy = _wrap(model, world, fsdp)
        optimizer, scheduler = make_optimizer(policy, config)
        state = ckpt.load_latest(run_dir, policy, optimizer, scheduler, world=world) if restore else None
        log = MetricsLog(run_dir, keep_through=None if not resume else (state or {"step": -1})["step"],
                         tensorboard=tensorboard) if world.main else None
        state = state or {"step": 0, "cursor": 0}
        engine = make_engine(config, policy, tokenizer, world.device)
        engine.sync_weights()  # the first rollout samples the current (e.g. warm-started or restored) weights

        rows = []
        if state["step"] == 0 and due(config, 0):
            row = {"step": 0, **validate(engine, tokenizer, config, run_dir, 0, world, data_dir=data_dir)}
            if log is not None:
                log.append(row)
            rows.append(row)
        last = config.total_steps if max_steps is None else min(config.total_steps, state["step"] + max_steps)
        bar = _Progress(enabled=progress and world.main, start=state["step"], total=config.total_steps)
        with bar:
            while state["step"] < last:
                step = state["step"] + 1
                t0 = time.perf_counter()
                # 1. prompts of this step (same on every rank), this rank's share
                picked = take_prompts(len(prompts), state["cursor"], config.prompts_per_step, config.seed)
                mine = [prompts[i] for i in rank_prompts(picked, config.mini_batch_prompts, world)]
                # 2. rollouts, one seed per (step, prompt, sample)
                seeds = rollout_seeds(config.seed, step, [p.index for p in mine], config.rollouts_per_prompt)
                rollouts = engine.generate([p.ids for p in mine], config.rollouts_per_prompt,
                                           max_new_tokens=config.max_response_tokens, temperature=config.temperature,
                                           top_p=config.top_p, seeds=seeds)
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
                ent_sum, tokens = recompute_old_logp(policy, batch, config, world)
                t_old = time.perf_counter() - t1
                # 5. the update
                t2 = time.perf_counter()
                lr = optimizer.param_groups[0]["lr"]
                metrics = update(policy, optimizer, batch, config, world)
                scheduler.step()
                engine.sync_weights()
                t_update = time.perf_counter() - t2
                # 6. log, validate, save
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
                    # per process (= per GPU), like veRL's perf/throughput
                    "perf/tokens_per_s_per_gpu": (all_sum(sum(len(p) for p in rollouts.prompt_ids), world)
                                                  + resp_tokens) / step_time / world.size,
                }
                if rollouts.engine_logprobs is not None:
                    row["rollout/logp_diff"] = _logp_diff(rollouts.engine_logprobs, batch, world)
                state = {"step": step, "cursor": state["cursor"] + config.prompts_per_step}
                if due(config, step):
                    t3 = time.perf_counter()
                    row.update(validate(engine, tokenizer, config, run_dir, step, world, data_dir=data_dir))
                    row["timing_s/val"] = time.perf_counter() - t3
                if log is not None:
                    log.append(row)
                rows.append(row)
                bar.advance(row)
                if (config.save_every and step % config.save_every == 0) or step == config.total_steps:
                    ckpt.save(run_dir, policy, optimizer, scheduler, state, world=world)
        if hasattr(engine, "close"):
            engine.close()  # frees the colocated engine's GPU memory before the final gather
        if state["step"] >= config.total_steps:
            _save_final(policy, tokenizer, run_dir, world)
        if log is not None:
            log.close()
        return rows
    finally:
        if lock is not None:
            lock.release()


def _save_final(policy, tokenizer, run_dir: Path, world: World) -> None:
    """RUN/final/: the trained model in HF format (full tensors gathered one at a time when sharded)."""
    module = unwrap(policy)
    state = {k: (v.full_tensor() if hasattr(v, "full_tensor") else v) for k, v in module.state_dict().items()}
    if world.main:
        module.save_pretrained(str(run_dir / "final"), state_dict=state)
        tokenizer.save_pretrained(str(run_dir / "final"))


def _wrap(model, world: World, fsdp: bool | None):
    from justrl.train.dist import wrap_model

    use_fsdp = (world.device.startswith("cuda") and world.size > 1) if fsdp is None else fsdp
    return wrap_model(model, world, fsdp=use_fsdp)


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
    """Progress over rollout steps with the latest mean score and entropy: a bar on a terminal, a plain line
    every 30 s otherwise (nohup, Slurm, ``| tee``); s/step excludes start-up (``justrl.evaluate.progress``)."""

    def __init__(self, *, enabled: bool, start: int, total: int):
        self.enabled, self.start, self.total = enabled, start, total
        self.display = None
        self.update = None

    def __enter__(self):
        if self.enabled:
            from justrl.evaluate.progress import StepProgress

            self.display = StepProgress(True, unit="step", prefix="justrl-train")
            self.display.__enter__()
            self.update = self.display.start("train", self.total, done=self.start)
        return self

    def advance(self, row: dict) -> None:
        if self.update is not None:
            info = (f"score {row['critic/score/mean']:+.3f}  entropy {row['actor/entropy']:.3f}  "
                    f"len {row['response_length/mean']:.0f}")
            self.update(row["step"], info=info)

    def __exit__(self, *exc):
        if self.display is not None:
            self.display.stop()
            self.display.__exit__(*exc)
        return False
