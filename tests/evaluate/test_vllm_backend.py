"""The vllm backend against tests/fakes/vllm, a STAND-IN for the real vLLM library (which needs a GPU): the
fake reproduces the vLLM behaviours the backend must cope with (string prompts get special tokens, the V1
EngineCore is a child process, CUMULATIVE outputs by default, memory held until the engine is shut down),
each cited to vLLM's source in tests/fakes/vllm/_fake.py. Data-parallel tests use real multiprocessing."""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from justrl.evaluate.backends import BackendError  # noqa: E402
from justrl.evaluate.backends.base import GenerationRequest, SamplingParams  # noqa: E402
from justrl.evaluate.backends.hf import HFBackend  # noqa: E402
from justrl.evaluate.protocol import Protocol  # noqa: E402

FAKES = Path(__file__).resolve().parents[1] / "fakes"


@pytest.fixture
def fake_vllm(monkeypatch):
    """Make ``import vllm`` (here and in spawned processes) load the stand-in; yields its core module."""
    cached = [name for name in sys.modules if name == "vllm" or name.startswith("vllm.")]
    for name in cached:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "")  # recorded: restored (absent) after the test
    monkeypatch.delenv("VLLM_ENABLE_V1_MULTIPROCESSING")
    from vllm import _fake

    _fake.EVENTS.clear()
    _fake.GPU_USED.clear()
    yield _fake
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def bos_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with a DeepSeek-R1-Distill-like tokenizer: encoding with special tokens prepends a
    BOS token, and the chat template emits that BOS itself."""
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    from justrl.evaluate.tiny import CHAT_TEMPLATE

    path = tmp_path_factory.mktemp("bos-model")
    for item in tiny_model.iterdir():
        if item.is_file() and not item.name.startswith("tokenizer"):
            shutil.copy(item, path / item.name)
    tok = Tokenizer.from_file(str(tiny_model / "tokenizer.json"))
    bos_id = tok.token_to_id("<|endoftext|>")
    tok.post_processor = TemplateProcessing(single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = "{{ bos_token }}" + CHAT_TEMPLATE
    fast.save_pretrained(str(path))
    return path


def requests(n: int = 3, max_tokens: int = 6) -> list[GenerationRequest]:
    return [GenerationRequest(key=f"k{i}", messages=Protocol().messages(f"What is {i} + 35?"),
                              sampling=SamplingParams(0.7, 0.9, max_tokens, 100 + i)) for i in range(n)]


def collect(backend, reqs) -> dict:
    out = {}
    backend.generate(reqs, lambda r: out.__setitem__(r.key, r))
    return out


def submitted_ids(fake) -> list[tuple[int, ...]]:
    return [event[2] for event in fake.EVENTS if event[0] == "add_request"]


def test_prompt_ids_equal_hf_backend_ids_without_a_doubled_bos(fake_vllm, bos_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.evaluate.backends.vllm import VLLMBackend

    tok = AutoTokenizer.from_pretrained(str(bos_model))
    bos = tok.bos_token_id
    assert tok("x")["input_ids"][0] == bos, "the fixture tokenizer must add BOS by default"
    hf = HFBackend.from_model(AutoModelForCausalLM.from_pretrained(str(bos_model)), tok)
    reqs = requests(2, max_tokens=2)
    hf_results = collect(hf, reqs)
    backend = VLLMBackend(str(bos_model))
    vllm_results = collect(backend, reqs)
    backend.close()
    expected = [tuple(hf._encode(hf.render(r.messages))) for r in reqs]
    assert submitted_ids(fake_vllm) == expected
    assert all(ids[0] == bos and ids[1] != bos for ids in expected)
    for r in reqs:
        assert vllm_results[r.key].prompt_tokens == hf_results[r.key].prompt_tokens == len(expected[reqs.index(r)])
        assert vllm_results[r.key].prompt_text == hf_results[r.key].prompt_text


def test_outputs_are_built_only_for_finished_requests(fake_vllm, tiny_model):
    from justrl.evaluate.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(tiny_model))
    out = collect(backend, requests(4, max_tokens=12))
    assert len(out) == 4 and all(r.completion_tokens >= 1 for r in out.values())
    assert backend._engine.llm.llm_engine.outputs_built == 4  # FINAL_ONLY: one output per request
    backend.close()


@pytest.mark.parametrize("backend_name", ["vllm", "hf"])
def test_context_check_fails_before_any_generation(fake_vllm, tiny_model, backend_name):
    from justrl.evaluate.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(tiny_model)) if backend_name == "vllm" else HFBackend.load(str(tiny_model))
    delivered = []
    with pytest.raises(BackendError) as err:
        backend.generate(requests(2, max_tokens=3000), delivered.append)
    message = str(err.value)
    assert "\n" not in message and "2048" in message and "--max-tokens 3000" in message
    assert "max_position_embeddings=2048" in message and "pass --max-tokens" in message
    assert delivered == [] and not [e for e in fake_vllm.EVENTS if e[0] == "LLM"]


def test_context_limit_honours_max_model_len(fake_vllm, tiny_model):
    from justrl.evaluate.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(tiny_model), max_model_len=64)
    with pytest.raises(BackendError, match=r"context of 64 tokens \(--max-model-len 64\)"):
        backend.generate(requests(1, max_tokens=60), lambda r: None)


@pytest.mark.parametrize(("config", "expected"), [
    ({"max_position_embeddings": 8192}, 8192),
    ({"max_position_embeddings": 4096, "n_positions": 2048}, 2048),
    ({"max_position_embeddings": 32768, "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                                                          "original_max_position_embeddings": 32768}}, 131072),
    ({"max_position_embeddings": 131072, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, 131072),
    ({"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 2.0}}, 8192),
    ({}, None),
], ids=["plain", "smallest-key", "yarn", "llama3-unscaled", "linear", "no-length"])
def test_model_context_limit_as_vllm_derives_it(config, expected):
    from justrl.evaluate.backends.context import model_context_limit

    limit = model_context_limit(config)
    assert (limit.tokens if limit else None) == expected


@pytest.mark.parametrize(("pairs", "expected"), [
    (["enforce_eager=true"], {"enforce_eager": True}),
    (["max-num-seqs=256", "swap_space=4.5"], {"max_num_seqs": 256, "swap_space": 4.5}),
    (["dtype=bfloat16"], {"dtype": "bfloat16"}),
    (['hf_overrides={"rope_theta": 1e6}'], {"hf_overrides": {"rope_theta": 1e6}}),
    (["tokenizer_revision=null"], {"tokenizer_revision": None}),
], ids=["bool", "numbers-and-dashes", "string", "json-object", "null"])
def test_engine_arg_values_parse_as_json_else_string(pairs, expected):
    from justrl.evaluate.backends.vllm import parse_engine_args

    assert parse_engine_args(pairs) == expected


def test_unknown_engine_arg_is_one_line_naming_close_matches(fake_vllm, tiny_model):
    from justrl.evaluate.backends.vllm import VLLMBackend

    with pytest.raises(BackendError) as err:
        VLLMBackend(str(tiny_model), max_num_seq=8)
    assert "unknown vLLM engine argument 'max_num_seq'; did you mean max_num_seqs" in str(err.value)
    with pytest.raises(BackendError, match="not KEY=VALUE"):
        from justrl.evaluate.backends.vllm import parse_engine_args

        parse_engine_args(["enforce_eager"])


def test_old_vllm_is_refused_with_the_floor(fake_vllm, tiny_model):
    from justrl.evaluate.backends.vllm import VLLMBackend

    fake_vllm.set_version("0.8.4")
    with pytest.raises(BackendError, match=r"vLLM 0.8.4 is too old; justrl needs vLLM >= 0.8.5"):
        VLLMBackend(str(tiny_model))


def test_close_gives_the_gpu_back_so_a_judge_engine_can_start(fake_vllm, tiny_model):
    """The generation engine takes 0.9 of the GPU; a second engine (the judge) fits only once close() has
    shut the first down. gc is paused: a dropped reference alone must not be what frees the memory."""
    from justrl.evaluate.backends.vllm import VLLMBackend

    gc.collect()
    gc.disable()
    try:
        generation = VLLMBackend(str(tiny_model), gpu_memory_utilization=0.9)
        collect(generation, requests(1))
        generation.close()
        assert fake_vllm.GPU_USED["cuda:0"] == pytest.approx(0.0)
        judge = VLLMBackend(str(tiny_model), gpu_memory_utilization=0.9)
        assert len(collect(judge, requests(1))) == 1
        judge.close()
    finally:
        gc.enable()
    assert ("shutdown",) in fake_vllm.EVENTS and ("cleanup_dist_env_and_memory",) in fake_vllm.EVENTS


def test_describe_records_provenance_and_engine_args(fake_vllm, tiny_model):
    from justrl.evaluate.backends.vllm import VLLMBackend

    info = VLLMBackend(str(tiny_model), enforce_eager=True).describe()
    assert len(info["chat_template_sha256"]) == 64 and info["versions"]["vllm"] == "0.8.5"
    assert info["engine_args"]["enforce_eager"] is True and info["context_limit"] == 2048


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_data_parallel_workers_can_start_engine_children(fake_vllm, tiny_model, monkeypatch):
    """Each worker's engine starts an EngineCore child process (vLLM V1): impossible in a daemonic worker."""
    from justrl.evaluate.backends.vllm import VLLMBackend

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    backend = VLLMBackend(str(tiny_model), data_parallel=2)
    assert backend.gpu_groups == ["0", "1"]
    out = collect(backend, requests(4))
    assert sorted(out) == ["k0", "k1", "k2", "k3"]
    info = backend.describe()
    assert info["data_parallel"] == 2 and len(info["chat_template_sha256"]) == 64 and info["versions"]["vllm"]
    assert all(r.prompt_tokens and r.prompt_text for r in out.values())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_worker_that_dies_without_done_stops_the_run_with_one_line(fake_vllm, tiny_model, monkeypatch):
    from justrl.evaluate.backends.vllm import VLLMBackend

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("FAKE_VLLM_EXIT_ON_GPU", "1")
    monkeypatch.setenv("FAKE_VLLM_EXIT_AFTER_STEPS", "1")
    monkeypatch.setenv("FAKE_VLLM_EXIT_CODE", "137")
    backend = VLLMBackend(str(tiny_model), data_parallel=2)
    delivered = []
    with pytest.raises(BackendError) as err:
        backend.generate(requests(4, max_tokens=12), delivered.append)
    message = str(err.value)
    assert "\n" not in message and "worker 1 on GPU 1 died (exit code 137)" in message
    assert {r.key for r in delivered} <= {"k0", "k1", "k2", "k3"}


def _cli_args(model, data, out, *extra) -> list[str]:
    return ["--model", str(model), "--backend", "vllm", "--benchmarks", "AIME24", "--limit", "2", "--n", "2",
            "--max-tokens", "8", "--data-dir", str(data), "--output-dir", str(out), "--quiet", *extra]


def test_cli_engine_flags_reach_vllm_and_are_recorded(fake_vllm, tiny_model, benchmarks_dir, tmp_path):
    import json

    from justrl.evaluate.cli import main

    out = tmp_path / "out"
    assert main(_cli_args(tiny_model, benchmarks_dir, out, "--no-grade", "--enforce-eager", "--engine-arg",
                          "max_num_seqs=4", "--engine-arg", "enable_prefix_caching=false")) == 0
    built = [e for e in fake_vllm.EVENTS if e[0] == "LLM"]
    assert len(built) == 1
    backend = json.loads((out / "run.json").read_text())["backend"]
    assert backend["engine_args"]["enforce_eager"] is True and backend["engine_args"]["max_num_seqs"] == 4
    assert backend["engine_args"]["enable_prefix_caching"] is False and backend["versions"]["vllm"] == "0.8.5"


def test_cli_unknown_engine_arg_is_one_line_before_any_engine(fake_vllm, tiny_model, benchmarks_dir, tmp_path, capsys):
    from justrl.evaluate.cli import main

    assert main(_cli_args(tiny_model, benchmarks_dir, tmp_path / "out", "--engine-arg", "max_num_seq=4")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown vLLM engine argument 'max_num_seq'; did you mean max_num_seqs" in err
    assert not [e for e in fake_vllm.EVENTS if e[0] == "LLM"]


def test_cli_closes_the_generation_engine_before_the_judge_engine_starts(fake_vllm, tiny_model, benchmarks_dir,
                                                                         tmp_path):
    """Both engines take 0.9 of the GPU (vLLM's default): the judge fits only after the generation engine
    is shut down. gc is paused so a dropped reference alone cannot free it."""
    from justrl.evaluate.cli import main

    gc.collect()
    gc.disable()
    try:
        code = main(_cli_args(tiny_model, benchmarks_dir, tmp_path / "out", "--judge-model", str(tiny_model),
                              "--judge-backend", "vllm"))
    finally:
        gc.enable()
    assert code == 0
    built = [e for e in fake_vllm.EVENTS if e[0] in ("LLM", "shutdown")]
    assert [e[0] for e in built][:3] == ["LLM", "shutdown", "LLM"]
