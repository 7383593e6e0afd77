"""The ``openai`` backend: any OpenAI-compatible server (vLLM serve, SGLang, llama.cpp, OpenAI, ...).

Uses ``POST {base_url}/chat/completions`` through the standard library (no ``openai`` package needed),
one request per sample (``n=1``, the sample's ``seed`` passed through; whether the server honours it is
up to the server), ``concurrency`` requests in flight from a thread pool. Failures that are usually
transient (HTTP 429 and 5xx, refused or dropped connections, timeouts) are retried up to
``max_retries`` times with exponential backoff and jitter (``Retry-After`` is honoured); other HTTP
errors (400, 401, 404, ...) stop the run with one line naming the server's message. The server renders
the chat template, so rows keep the user message as their ``prompt``. A reply's ``reasoning_content``
(servers with a reasoning parser) is kept: the response is ``<think>REASONING</think>CONTENT``
(:func:`combine_reasoning`).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from justrl.evaluate.backends import BackendError
from justrl.evaluate.backends.base import GenerationRequest, GenerationResult

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAIBackend:
    """Chat completions against ``base_url`` (default ``$OPENAI_BASE_URL`` or OpenAI's API); the API key
    comes from ``api_key`` or ``$OPENAI_API_KEY`` (optional for local servers)."""

    name = "openai"

    def __init__(self, model: str | None, *, base_url: str | None = None, api_key: str | None = None,
                 concurrency: int = 16, max_retries: int = 6, timeout: float = 3600.0, backoff: float = 1.0,
                 max_backoff: float = 60.0) -> None:
        if not model:
            raise BackendError("the openai backend needs --model: the model name the server serves")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise BackendError(f"--base-url {self.base_url!r} is not an http(s) URL; e.g. http://127.0.0.1:8000/v1")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retries = 0  # retried attempts so far (all requests), for provenance and tests

    def _post(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300].replace("\n", " ")
            exc.close()
            if exc.code in RETRY_STATUS:
                after = exc.headers.get("Retry-After") if exc.headers else None
                raise _Retryable(f"HTTP {exc.code}", float(after) if after and after.isdigit() else None) from None
            raise BackendError(f"server {self.base_url} answered HTTP {exc.code} to {path}: {detail}; "
                               f"check --model, --base-url and the API key") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as exc:
            raise _Retryable(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None
        except json.JSONDecodeError:
            raise _Retryable("the server sent invalid JSON") from None

    def _complete(self, req: GenerationRequest) -> GenerationResult:
        s = req.sampling
        body = {"model": self.model, "messages": req.messages, "temperature": s.temperature, "top_p": s.top_p,
                "max_tokens": s.max_tokens, "n": 1}
        if s.seed is not None:
            body["seed"] = int(s.seed)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                reply = self._post("/chat/completions", body)
                return _parse(req.key, reply)
            except _Retryable as exc:
                last = str(exc)
                if attempt == self.max_retries:
                    break
                self.retries += 1
                delay = exc.retry_after if exc.retry_after is not None else \
                    min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
                time.sleep(delay)
        raise BackendError(f"{self.base_url} kept failing ({last}) after {self.max_retries} retries; is the server "
                           f"up? rerun the same command to resume")

    def generate(self, requests: list[GenerationRequest],
                 on_result: Callable[[GenerationResult], None]) -> None:
        """Send all requests, ``concurrency`` at a time; results are delivered (in this thread) as they
        arrive. A request that fails for good cancels the rest and raises :class:`BackendError`."""
        if not requests:
            return
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="justrl-openai")
        try:
            pending = {pool.submit(self._complete, req) for req in requests}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    on_result(future.result())  # re-raises the request's BackendError
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def describe(self) -> dict:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url, "revision": None,
                "chat_template_sha256": None, "concurrency": self.concurrency, "max_retries": self.max_retries,
                "retries": self.retries}

    def close(self) -> None:
        """Nothing to release: connections are per request."""


def combine_reasoning(content: str | None, reasoning: str | None) -> str:
    """The response as JustRL's models print it: a server with a reasoning parser (``vllm serve
    --reasoning-parser deepseek_r1``, SGLang, DeepSeek's API) splits ``<think>...</think>`` off into
    ``reasoning_content`` (or ``reasoning``); put it back in front as ``<think>REASONING</think>CONTENT``.
    Without reasoning the content is returned unchanged; reasoning alone (cut off while thinking) gives
    ``<think>REASONING`` with no closing tag, as the model's own output would read."""
    content = content or ""
    if not reasoning:
        return content
    if not content:
        return f"<think>{reasoning}"
    return f"<think>{reasoning}</think>{content}"


def _parse(key: str, reply: dict) -> GenerationResult:
    try:
        choice = reply["choices"][0]
        message = choice.get("message") or {}
        text = combine_reasoning(message.get("content"), message.get("reasoning_content") or message.get("reasoning"))
        usage = reply.get("usage") or {}
    except (KeyError, IndexError, TypeError, AttributeError):
        raise _Retryable("the server's reply has no choices[0].message") from None
    reason = choice.get("finish_reason") or "stop"
    return GenerationResult(key=key, text=text, finish_reason="length" if reason == "length" else str(reason),
                            prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"))
