"""justrl.train.grpo.sequence_logprobs: the memory-bounded per-token log-probs of DESIGN.md §5.

Specification: equal (values, entropies, gradients) to the naive computation from the model's full logits,
log_softmax(logits / T) gathered at each response token, for left-padded prompts and right-padded responses;
position ids counted from each row's first real token; padding positions are 0; at most one chunk of
[tokens x vocabulary] logits alive (checked by peak resident memory in a fresh process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from justrl.train.grpo import sequence_logprobs  # noqa: E402

VOCAB = 97


def _model(tied: bool = False, seed: int = 0, dtype=torch.float64, cls=None):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=tied,
                         max_position_embeddings=256)
    return (cls or Qwen2ForCausalLM)(config).to(dtype)


# rows: (prompt length, response length) in a batch with prompt width 5 and response width 4
LAYOUTS = {
    "no-padding": [(5, 4), (5, 4)],
    "left-padded-prompts": [(5, 4), (2, 4), (3, 4)],
    "right-padded-responses": [(5, 4), (5, 1), (5, 2)],
    "both": [(1, 4), (5, 2), (3, 1), (4, 3)],
}


def _batch(layout, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    p_width, t_width = 5, 4
    ids = torch.randint(0, VOCAB, (len(layout), p_width + t_width), generator=gen)
    attn = torch.zeros_like(ids)
    for i, (p, r) in enumerate(layout):
        attn[i, p_width - p:p_width + r] = 1
    return ids, attn, t_width


def _naive(model, ids, attn, t, temperature):
    """The reference: full logits, log_softmax, gather; entropy from the same log-softmax; zeros on padding."""
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=attn, position_ids=pos).logits[:, -t - 1:-1]
    logsoft = torch.log_softmax(logits / temperature, dim=-1)
    mask = attn[:, -t:].to(logsoft.dtype)
    logp = logsoft.gather(-1, ids[:, -t:].unsqueeze(-1)).squeeze(-1) * mask
    entropy = -(logsoft.exp() * logsoft).sum(-1) * mask
    return logp, entropy.detach()


def _grads(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
@pytest.mark.parametrize("temperature", [1.0, 0.7], ids=["t1", "t0.7"])
@pytest.mark.parametrize("chunk_tokens", [1, 3, None], ids=["chunk-1", "ragged-chunks", "default-chunk"])
def test_values_entropy_and_gradients_equal_the_full_logits_computation(layout, temperature, chunk_tokens):
    model = _model()
    ids, attn, t = _batch(LAYOUTS[layout])
    weights = torch.linspace(0.5, 2.0, t, dtype=torch.float64)  # a loss that weighs positions differently
    ref_logp, ref_ent = _naive(model, ids, attn, t, temperature)
    ref_grads = _grads(model, (ref_logp * weights).sum())
    logp, ent = sequence_logprobs(model, ids, attn, t, temperature=temperature, entropy=True,
                                  chunk_tokens=chunk_tokens)
    grads = _grads(model, (logp * weights).sum())
    assert logp.shape == ent.shape == (len(LAYOUTS[layout]), t)
    assert torch.allclose(logp, ref_logp, atol=1e-12)
    assert torch.allclose(ent, ref_ent, atol=1e-12)
    assert not ent.requires_grad
    assert ref_grads.keys() == grads.keys()
    for name in grads:
        assert torch.allclose(grads[name], ref_grads[name], atol=1e-12), name


def test_tied_embeddings_get_the_gradient_of_both_uses():
    model = _model(tied=True)
    ids, attn, t = _batch(LAYOUTS["both"])
    ref = _grads(model, _naive(model, ids, attn, t, 1.0)[0].sum())
    ours = _grads(model, sequence_logprobs(model, ids, attn, t, chunk_tokens=2)[0].sum())
    for name in ref:
        assert torch.allclose(ours[name], ref[name], atol=1e-12), name


def test_position_ids_count_from_the_first_real_token():
    """A row's log-probs do not depend on how much left padding it has (nor on its batch mates)."""
    model = _model()
    gen = torch.Generator().manual_seed(3)
    row = torch.randint(0, VOCAB, (1, 7), generator=gen)
    alone, _ = sequence_logprobs(model, row, torch.ones_like(row), 3)
    padded = torch.cat([torch.zeros(1, 4, dtype=torch.long), row], 1)
    attn = torch.cat([torch.zeros(1, 4, dtype=torch.long), torch.ones_like(row)], 1)
    other = torch.randint(0, VOCAB, (1, 11), generator=gen)
    ids = torch.cat([padded, other])
    mask = torch.cat([attn, torch.ones_like(other)])
    batched, _ = sequence_logprobs(model, ids, mask, 3)
    assert torch.allclose(batched[0], alone[0], atol=1e-12)


def test_no_grad_pass_equals_the_grad_pass_and_keeps_no_graph():
    model = _model()
    ids, attn, t = _batch(LAYOUTS["both"])
    with_grad, ent1 = sequence_logprobs(model, ids, attn, t, entropy=True, chunk_tokens=2)
    with torch.no_grad():
        without, ent2 = sequence_logprobs(model, ids, attn, t, entropy=True, chunk_tokens=2)
    assert with_grad.requires_grad and not without.requires_grad
    assert torch.equal(with_grad.detach(), without) and torch.equal(ent1, ent2)


def test_padding_positions_are_zero_and_an_all_padding_batch_still_backpropagates():
    model = _model()
    ids, attn, t = _batch([(5, 0), (3, 0)])
    logp, ent = sequence_logprobs(model, ids, attn, t, entropy=True)
    assert torch.count_nonzero(logp) == 0 and torch.count_nonzero(ent) == 0
    logp.sum().backward()  # a micro-batch without response tokens must not break the update
    assert all(p.grad is not None for p in model.parameters())


def test_float32_output_for_a_bfloat16_model():
    model = _model(dtype=torch.bfloat16)
    ids, attn, t = _batch(LAYOUTS["both"])
    logp, ent = sequence_logprobs(model, ids, attn, t, entropy=True)
    assert logp.dtype == ent.dtype == torch.float32
    ref, _ = _naive(model, ids, attn, t, 1.0)
    assert torch.allclose(logp, ref.float(), atol=0.05)


def test_gradient_checkpointing_of_the_body_gives_the_same_gradients():
    model = _model()
    ids, attn, t = _batch(LAYOUTS["both"])
    model.train()
    ref = _grads(model, sequence_logprobs(model, ids, attn, t, chunk_tokens=2)[0].sum())
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
    ours = _grads(model, sequence_logprobs(model, ids, attn, t, chunk_tokens=2)[0].sum())
    for name in ref:
        assert torch.allclose(ours[name], ref[name], atol=1e-12), name


def _scaled_logits_model_class():
    from transformers import Qwen2ForCausalLM

    class ScaledLogits(Qwen2ForCausalLM):
        """Logits are 2 x lm_head(hidden): the head cannot simply be split off (like soft-capped models)."""

        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits = out.logits * 2
            return out

    return ScaledLogits


def test_a_model_whose_logits_are_not_head_of_hidden_falls_back_to_its_own_logits():
    model = _model(cls=_scaled_logits_model_class())
    ids, attn, t = _batch(LAYOUTS["both"])
    ref_logp, _ = _naive(model, ids, attn, t, 1.0)
    ref = _grads(model, ref_logp.sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logp, _ = sequence_logprobs(model, ids, attn, t, chunk_tokens=2)
    assert any("full logits" in str(w.message) for w in caught)
    assert torch.allclose(logp, ref_logp, atol=1e-12)
    ours = _grads(model, logp.sum())
    for name in ref:
        assert torch.allclose(ours[name], ref[name], atol=1e-12), name


@pytest.mark.parametrize("width", [0, 9], ids=["zero", "whole-sequence"])
def test_bad_response_width_is_rejected(width):
    ids, attn, _ = _batch(LAYOUTS["both"])
    with pytest.raises(ValueError):
        sequence_logprobs(_model(), ids, attn, width)


# ----------------------------------------------------------------------------- memory (fresh processes)
MEMORY_PROBE = r"""
import ctypes, json, sys
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from justrl.train.grpo import sequence_logprobs

mode, vocab, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
torch.set_num_threads(1)
config = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                     num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                     max_position_embeddings=tokens + 64)
model = Qwen2ForCausalLM(config)

def step(n):
    ids = torch.randint(0, vocab, (1, n + 16))
    attn = torch.ones_like(ids)
    if mode == "naive":
        logits = model(input_ids=ids, attention_mask=attn).logits[:, -n - 1:-1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, -n:, None]).squeeze(-1)
    else:
        logp, _ = sequence_logprobs(model, ids, attn, n, chunk_tokens=64)
    logp.sum().backward()

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024

step(32)  # parameter gradients and lazy initialisation exist before the base is read
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
base = status("VmRSS:")
step(tokens)
print(json.dumps({"peak_growth": status("VmHWM:") - base}))
"""


def _peak_growth(procs) -> list[int]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1])["peak_growth"])
    return out


@pytest.mark.slow
def test_peak_memory_stays_far_below_the_full_logits():
    """vocab 32,000 x 2,048 response tokens: full float32 logits are 262 MB; forward + backward of
    sequence_logprobs (8 MB chunks) must add well under one copy of them to the resident set (measured 50-67 MB,
    the body's own activations included; the bound leaves room for allocator noise), while the naive
    computation (the control, so the measurement can fail) adds more than the logits themselves (~1 GB)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak-RSS mark")
    vocab, tokens = 32_000, 2_048
    logits_bytes = vocab * tokens * 4
    procs = [subprocess.Popen([sys.executable, "-c", MEMORY_PROBE, mode, str(vocab), str(tokens)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for mode in ("ours", "naive")]
    ours, naive = _peak_growth(procs)
    assert naive > logits_bytes, (ours, naive)
    assert ours < 0.4 * logits_bytes, (ours, naive)


# ----------------------------------------------------------------------------- data parallel (2 gloo ranks)
DATA_PARALLEL_PROBE = r'''
import os, sys
import torch
import torch.distributed as dist
from transformers import Qwen2Config, Qwen2ForCausalLM
from justrl.train.grpo import backward_scale, policy_loss, sequence_logprobs

PORT = sys.argv[1]


def model():
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    return Qwen2ForCausalLM(config).double()


def data():
    gen = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 97, (4, 12), generator=gen)
    attn = torch.ones_like(ids)
    attn[1, :3] = 0
    attn[2, -2:] = 0
    attn[3, -5:] = 0
    adv = torch.randn(4, generator=gen, dtype=torch.float64)
    old = torch.randn(4, 6, generator=gen, dtype=torch.float64) * 0.1
    return ids, attn, adv, old


def run(rank, world):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=PORT)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    for wrap in ("ddp", "fsdp2"):
        check(rank, world, wrap)
        dist.barrier()
    dist.destroy_process_group()


def check(rank, world, wrap):
    local = model()
    if wrap == "ddp":
        policy = torch.nn.parallel.DistributedDataParallel(local)
    else:
        from torch.distributed.fsdp import fully_shard
        for layer in local.model.layers:
            fully_shard(layer)
        policy = fully_shard(local)
    ids, attn, adv, old = data()
    mask = attn[:, -6:].double()
    rows = slice(2 * rank, 2 * rank + 2)
    logp, _ = sequence_logprobs(policy, ids[rows], attn[rows], 6, chunk_tokens=3)
    loss, _ = policy_loss(logp, old[rows], adv[rows], mask[rows], normalizer=float(mask.sum()))
    (loss * backward_scale("token-mean", world)).backward()
    grads = [p.grad.full_tensor() if hasattr(p.grad, "full_tensor") else p.grad for p in local.parameters()]
    if rank == 0:
        ref = model()
        logp, _ = sequence_logprobs(ref, ids, attn, 6)
        policy_loss(logp, old, adv, mask)[0].backward()
        print(wrap, max(float((g - q.grad).abs().max()) for g, q in zip(grads, ref.parameters(), strict=True)))


if __name__ == "__main__":
    torch.multiprocessing.spawn(run, args=(2,), nprocs=2)
'''


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_wrapped_policy_on_two_ranks_gets_the_one_process_gradient(tmp_path):
    """DDP and FSDP2: the model is called through the wrapper's forward (its hooks run), the LM head outside it
    per chunk; the ranks' averaged gradients, scaled by backward_scale, equal the one-process token-mean gradient."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("needs torch.distributed with gloo")
    from torch.distributed import fsdp

    if not hasattr(fsdp, "fully_shard"):
        pytest.skip("this torch has no FSDP2 fully_shard")
    script = tmp_path / "probe.py"
    script.write_text(DATA_PARALLEL_PROBE)
    proc = subprocess.run([sys.executable, str(script), str(_free_port())], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    diffs = dict(line.split() for line in proc.stdout.strip().splitlines()[-2:])
    assert diffs.keys() == {"ddp", "fsdp2"}
    assert all(float(d) < 1e-12 for d in diffs.values()), diffs
