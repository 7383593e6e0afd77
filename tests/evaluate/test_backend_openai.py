"""The openai backend against a real local OpenAI-compatible server (justrl.evaluate.serve over the tiny
model, started as a separate process), including retries against a server that fails its first calls."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("torch")

from justrl.evaluate.backends import BackendError  # noqa: E402
from justrl.evaluate.backends.base import GenerationRequest, SamplingParams  # noqa: E402
from justrl.evaluate.backends.hf import HFBackend  # noqa: E402
from justrl.evaluate.backends.openai import OpenAIBackend  # noqa: E402
from justrl.evaluate.protocol import Protocol  # noqa: E402
from justrl.evaluate.serve import make_server  # noqa: E402

pytestmark = pytest.mark.slow


def start_server(model, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "justrl.evaluate.serve", "--model", str(model), "--port", "0",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=120)
    if not line or "serving" not in line[0]:
        proc.kill()
        pytest.fail(f"server did not start: {line}")
    return proc, line[0].split(" on ")[1].strip()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def local_backend(tiny_model):
    return HFBackend.load(str(tiny_model), batch_size=1)


@contextlib.contextmanager
def failing_server(backend, fail_first: int):
    """The same server in a thread of this process (fast to start), failing its first calls with 503."""
    srv = make_server(backend, fail_first=fail_first, model_name="tiny")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def server(tiny_model):
    proc, url = start_server(tiny_model, "--served-model-name", "tiny")
    yield url
    stop(proc)


def reqs(seeds, max_tokens=10):
    return [GenerationRequest(key=f"s{seed}", messages=Protocol().messages(f"What is {seed} + 35?"),
                              sampling=SamplingParams(0.7, 0.9, max_tokens, seed)) for seed in seeds]


def collect(backend, requests) -> dict:
    out = {}
    backend.generate(requests, lambda r: out.__setitem__(r.key, r))
    return out


def test_concurrent_requests_match_local_generation(server, local_backend):
    requests = reqs([1, 2, 3, 4, 5])
    remote = collect(OpenAIBackend("tiny", base_url=server, concurrency=3), requests)
    local = collect(local_backend, requests)
    assert sorted(remote) == sorted(local)
    for key, res in remote.items():
        # the server is the hf backend one request at a time: the seed passes through exactly
        assert (res.text, res.finish_reason, res.completion_tokens, res.prompt_tokens) == \
            (local[key].text, local[key].finish_reason, local[key].completion_tokens, local[key].prompt_tokens)
        assert res.prompt_text is None  # the server renders the template


def test_describe(server):
    info = OpenAIBackend("tiny", base_url=server, concurrency=2).describe()
    assert (info["backend"], info["model"], info["base_url"]) == ("openai", "tiny", server)


def test_retries_after_server_errors(local_backend):
    with failing_server(local_backend, 3) as url:
        backend = OpenAIBackend("tiny", base_url=url, concurrency=1, max_retries=4, backoff=0.01)
        out = collect(backend, reqs([7, 8]))
        assert sorted(out) == ["s7", "s8"] and backend.retries == 3
        give_up = OpenAIBackend("tiny", base_url=url, concurrency=1, max_retries=0)
        assert collect(give_up, reqs([9])).keys() == {"s9"}  # the server has recovered


def test_gives_up_after_max_retries_with_one_line(local_backend):
    with failing_server(local_backend, 100) as url:
        backend = OpenAIBackend("tiny", base_url=url, concurrency=2, max_retries=2, backoff=0.01)
        started = time.perf_counter()
        with pytest.raises(BackendError, match="kept failing .*HTTP 503.* after 2 retries") as err:
            collect(backend, reqs([1, 2, 3]))
        assert "\n" not in str(err.value) and time.perf_counter() - started < 10


def test_client_errors_are_not_retried(server):
    backend = OpenAIBackend("tiny", base_url=server.rsplit("/v1", 1)[0] + "/nope", max_retries=5, backoff=5.0)
    started = time.perf_counter()
    with pytest.raises(BackendError, match="HTTP 404"):
        collect(backend, reqs([1]))
    assert backend.retries == 0 and time.perf_counter() - started < 5


def test_connection_refused_is_retried_then_reported():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend("tiny", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2, backoff=0.01)
    with pytest.raises(BackendError, match="kept failing"):
        collect(backend, reqs([1]))
    assert backend.retries == 2


@pytest.mark.parametrize("kwargs, match", [({"model": None}, "needs --model"),
                                           ({"model": "m", "base_url": "localhost:8000"}, "not an http")],
                         ids=["no-model", "bad-url"])
def test_configuration_errors(kwargs, match):
    with pytest.raises(BackendError, match=match):
        OpenAIBackend(**kwargs)


@pytest.mark.parametrize(("message", "expected"), [
    ({"content": "The answer is \\boxed{4}."}, "The answer is \\boxed{4}."),
    ({"content": "\\boxed{4}", "reasoning_content": "2+2 is 4."}, "<think>2+2 is 4.</think>\\boxed{4}"),
    ({"content": "\\boxed{4}", "reasoning": "2+2 is 4."}, "<think>2+2 is 4.</think>\\boxed{4}"),
    ({"content": None, "reasoning_content": "still thinking"}, "<think>still thinking"),
    ({"content": "", "reasoning_content": "still thinking"}, "<think>still thinking"),
    ({"content": "\\boxed{4}", "reasoning_content": ""}, "\\boxed{4}"),
    ({"content": None}, ""),
], ids=["content-only", "reasoning-and-content", "reasoning-key", "reasoning-only-cut-off", "empty-content",
        "empty-reasoning", "nothing"])
def test_reply_keeps_reasoning_content_in_front_of_the_content(message, expected):
    from justrl.evaluate.backends.openai import _parse

    reply = {"choices": [{"message": {"role": "assistant", **message}, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
    assert _parse("k", reply).text == expected


def test_server_answers_a_request_beyond_the_context_with_400_and_the_client_stops(local_backend):
    with failing_server(local_backend, fail_first=0) as url:
        client = OpenAIBackend("tiny", base_url=url, max_retries=3, backoff=0.01)
        with pytest.raises(BackendError) as err:
            collect(client, reqs([1], max_tokens=5000))
    message = str(err.value)
    assert "HTTP 400" in message and "context of 2048 tokens" in message and client.retries == 0
