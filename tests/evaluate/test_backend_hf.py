"""The hf backend on the tiny local model: batching, per-sample seeds, stop/length, provenance."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from justrl.evaluate.backends import BackendError  # noqa: E402
from justrl.evaluate.backends.base import GenerationRequest, SamplingParams  # noqa: E402
from justrl.evaluate.backends.hf import HFBackend, resolve_model_source, sample_tokens  # noqa: E402
from justrl.evaluate.protocol import Protocol  # noqa: E402

QUESTIONS = ["What is 12 + 35?", "Let $a$ and $b$ be real numbers with a + b = 10 and ab = 21. Find a^2 + b^2.",
             "Find the sum of all integers n such that n^2 < 50.", "Compute 7 x 6."]


@pytest.fixture(scope="module")
def backend(tiny_model):
    return HFBackend.load(str(tiny_model), batch_size=3)


def requests(seeds, *, max_tokens=12, temperature=0.7, top_p=0.9):
    return [GenerationRequest(key=f"k{i}", messages=Protocol().messages(QUESTIONS[i % len(QUESTIONS)]),
                              sampling=SamplingParams(temperature, top_p, max_tokens, seed))
            for i, seed in enumerate(seeds)]


def generate(backend, reqs):
    out = {}
    backend.generate(reqs, lambda r: out.__setitem__(r.key, r))
    return out


def test_every_request_gets_one_result_with_counts(backend):
    reqs = requests([1, 2, 3, 4, 5], max_tokens=9)
    out = generate(backend, reqs)
    assert sorted(out) == sorted(r.key for r in reqs)
    for req in reqs:
        res = out[req.key]
        assert res.finish_reason in ("stop", "length")
        assert 1 <= res.completion_tokens <= 9
        assert res.finish_reason == "stop" or res.completion_tokens == 9
        assert res.prompt_text == backend.render(req.messages)
        assert res.prompt_tokens == len(backend.tokenizer(res.prompt_text, add_special_tokens=False)["input_ids"])


def test_prompt_uses_the_models_chat_template(backend):
    text = backend.render(Protocol().messages("Compute 7 x 6."))
    assert text == ("<|im_start|>user\nCompute 7 x 6. Please reason step by step, and put your final answer "
                    "within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n")


def test_same_seed_same_text_regardless_of_batching(backend, tiny_model):
    reqs = requests([11, 12, 13, 14, 15])
    batched = generate(backend, reqs)
    single = generate(HFBackend.from_model(backend.model, backend.tokenizer, batch_size=1), reqs)
    again = generate(backend, list(reversed(reqs)))
    assert {k: v.text for k, v in batched.items()} == {k: v.text for k, v in single.items()}
    assert {k: v.text for k, v in batched.items()} == {k: v.text for k, v in again.items()}


def test_different_seeds_draw_different_samples(backend):
    reqs = [GenerationRequest(key=str(s), messages=Protocol().messages(QUESTIONS[0]),
                              sampling=SamplingParams(1.0, 1.0, 12, s)) for s in range(6)]
    texts = {r.text for r in generate(backend, reqs).values()}
    assert len(texts) >= 5


def test_temperature_zero_is_greedy_and_ignores_the_seed(backend):
    reqs = [GenerationRequest(key=str(s), messages=Protocol().messages(QUESTIONS[0]),
                              sampling=SamplingParams(0.0, 0.9, 10, s)) for s in (1, 2, 3)]
    texts = {r.text for r in generate(backend, reqs).values()}
    assert len(texts) == 1


def test_stop_token_ends_a_sample(tiny_model):
    # make the end-of-turn token overwhelmingly likely: every sample must stop after one token
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    bias = torch.zeros(model.config.vocab_size)
    bias[tok.eos_token_id] = 1e4
    model.lm_head.register_forward_hook(lambda module, inputs, output: output + bias)
    out = generate(HFBackend.from_model(model, tok), requests([1, 2, 3], max_tokens=8))
    assert {(r.finish_reason, r.completion_tokens, r.text) for r in out.values()} == {("stop", 1, "")}


def test_from_model_restores_training_mode(backend):
    backend.model.train()
    try:
        generate(backend, requests([1], max_tokens=2))
        assert backend.model.training
    finally:
        backend.model.eval()


def test_describe_records_provenance(backend, tiny_model):
    info = backend.describe()
    assert info["backend"] == "hf" and info["model"] == str(tiny_model)
    assert len(info["chat_template_sha256"]) == 64
    assert {"torch", "transformers"} <= set(info["versions"])


@pytest.mark.parametrize("temperature, top_p, uniform, expected", [
    (0.0, 0.9, 0.99, 2), (1.0, 0.01, 0.99, 2), (1.0, 1.0, 0.0, 2), (1.0, 1.0, 0.99999, 0), (1.0, 0.7, 0.99999, 1),
], ids=["greedy", "tiny-nucleus-is-argmax", "lowest-uniform-picks-most-likely", "highest-uniform-picks-least-likely",
        "nucleus-excludes-the-tail"])
def test_sample_tokens(temperature, top_p, uniform, expected):
    # probabilities 0.1, 0.3, 0.6 for tokens 0, 1, 2
    logits = torch.log(torch.tensor([[0.1, 0.3, 0.6]]))
    got = sample_tokens(torch, logits, torch.tensor([temperature]), torch.tensor([top_p]), torch.tensor([uniform]))
    assert got.tolist() == [expected]


def test_resolve_model_source(tmp_path, tiny_model):
    assert resolve_model_source(str(tiny_model)) == (str(tiny_model), None, True)
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve_model_source(str(tmp_path / "m.gguf")) == (str(tmp_path), "m.gguf", True)
    assert resolve_model_source(str(tmp_path)) == (str(tmp_path), "m.gguf", True)  # a folder with one .gguf
    assert resolve_model_source("hbx/JustRL-DeepSeek-1.5B") == ("hbx/JustRL-DeepSeek-1.5B", None, False)


@pytest.mark.parametrize("make, match", [
    (lambda d: str(d / "missing"), "not found"),
    (lambda d: str(d), "not a model folder"),
    (lambda d: (d / "w.bin").write_bytes(b"x") and str(d / "w.bin"), "not a .gguf"),
    (lambda d: "", "no model given"),
], ids=["missing-path", "folder-without-config", "non-gguf-file", "empty"])
def test_resolve_model_source_errors(tmp_path, make, match):
    with pytest.raises(BackendError, match=match):
        resolve_model_source(make(tmp_path))


def test_offline_hub_id_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match="offline"):
        HFBackend.load("justrl-test-nobody/no-such-model")


def test_each_sample_is_delivered_when_it_finishes_not_when_its_batch_does(tiny_model):
    """One batch, max_tokens 2 and 20: the short sample reaches on_result (and the run store) after about
    two decoding steps, long before the batch's last sample (progress moves per sample on a CPU)."""
    wide = HFBackend.load(str(tiny_model), batch_size=16)
    steps = [0]
    hook = wide.model.register_forward_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
    seen = []
    try:
        short = requests([1], max_tokens=2, temperature=0.0)
        long = [GenerationRequest(key="long", messages=short[0].messages, sampling=SamplingParams(0.7, 0.9, 20, 9))]
        # a stop token would end the long one early: forbid stopping by sampling it to its limit
        wide.stop_ids = [-1]
        wide.generate(short + long, lambda r: seen.append((r.key, steps[0])))
    finally:
        hook.remove()
    assert [key for key, _ in seen] == ["k0", "long"]
    assert seen[0][1] <= 2 and seen[1][1] == 20


@pytest.mark.parametrize(("given", "expected"), [(None, 4), (16, 16), (1, 1)], ids=["cpu-default", "explicit", "one"])
def test_batch_size_defaults_to_4_on_cpu(tiny_model, given, expected):
    backend = HFBackend.load(str(tiny_model), device="cpu", batch_size=given)
    assert backend.batch_size == expected and backend.describe()["batch_size"] == expected
