"""A small OpenAI-compatible HTTP server over the ``hf`` backend (chat completions only).

    python -m justrl.evaluate.serve --model path/to/model --port 8000
    justrl-eval --backend openai --base-url http://127.0.0.1:8000/v1 --model any ...

Endpoints: ``POST /v1/chat/completions`` (``messages``, ``temperature``, ``top_p``, ``max_tokens``,
``seed``; ``n`` must be 1) and ``GET /v1/models``. Requests are served one at a time (the model is
shared); it exists for tests, demos and small local runs, not for throughput (use ``vllm serve``).
A request the backend refuses (prompt + ``max_tokens`` beyond the model's context) gets HTTP 400 with
the backend's one-line message, as OpenAI-compatible servers answer it. ``--fail-first K`` answers the first K completion requests with HTTP 503 (fault injection for client
retry tests). With ``--port 0`` a free port is chosen; the first stdout line is
``serving <model> on http://HOST:PORT/v1``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from justrl.evaluate.backends.base import GenerationRequest, SamplingParams


class _Handler(BaseHTTPRequestHandler):
    server_version = "justrl-serve/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": status}})

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        with self.server.counter_lock:
            self.server.requests_seen += 1
            failing = self.server.requests_seen <= self.server.fail_first
        if failing:
            self._error(503, "injected failure (--fail-first)")
            return
        try:
            body = json.loads(raw)
            messages = body["messages"]
            if int(body.get("n", 1)) != 1:
                raise ValueError("only n=1 is supported")
            sampling = SamplingParams(temperature=float(body.get("temperature", 1.0)),
                                      top_p=float(body.get("top_p", 1.0)),
                                      max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
                                      seed=None if body.get("seed") is None else int(body["seed"]))
        except (ValueError, KeyError, TypeError) as exc:
            self._error(400, f"bad request: {exc}")
            return
        results = []
        from justrl.evaluate.backends import BackendError

        try:
            with self.server.model_lock:
                self.server.backend.generate([GenerationRequest(key="0", messages=messages, sampling=sampling)],
                                             results.append)
        except BackendError as exc:  # e.g. prompt + max_tokens beyond the model's context: the client's error
            self._error(400, str(exc))
            return
        result = results[0]
        self._send(200, {
            "id": f"chatcmpl-{self.server.requests_seen}", "object": "chat.completion", "created": int(time.time()),
            "model": self.server.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                         "finish_reason": result.finish_reason}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                      "total_tokens": None if result.prompt_tokens is None or result.completion_tokens is None
                      else result.prompt_tokens + result.completion_tokens},
        })


def make_server(backend, *, host: str = "127.0.0.1", port: int = 0, model_name: str = "justrl",
                fail_first: int = 0, verbose: bool = False) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) answering chat completions with ``backend``."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    server.backend = backend
    server.model_name = model_name
    server.fail_first = fail_first
    server.requests_seen = 0
    server.verbose = verbose
    server.model_lock = threading.Lock()
    server.counter_lock = threading.Lock()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m justrl.evaluate.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="local model folder, .gguf file, or hub id")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--served-model-name", default=None)
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first K completions with HTTP 503")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    from justrl.evaluate.backends import BackendError
    from justrl.evaluate.backends.hf import HFBackend

    try:
        backend = HFBackend.load(args.model, batch_size=1)
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(backend, host=args.host, port=args.port, model_name=args.served_model_name or args.model,
                         fail_first=args.fail_first, verbose=args.verbose)
    host, port = server.server_address[:2]
    print(f"serving {args.model} on http://{host}:{port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
