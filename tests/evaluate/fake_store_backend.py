"""A deterministic stand-in for a generation backend, and small helpers, shared by the run-store fault
tests (no torch, no model: every answer is a function of the request's seed)."""

from __future__ import annotations

import json

from justrl.benchmarks.loaders import Problem
from justrl.evaluate.backends.base import GenerationResult


def problems(count: int = 3, bench: str = "AIME24") -> dict[str, list[Problem]]:
    return {bench: [Problem(str(i), f"What is {i}+1?", str(i + 1)) for i in range(count)]}


class FakeBackend:
    """Answers every request from its seed; renders the prompt like a chat template would."""

    name = "fake"
    model_id = "fake/model"

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.requests = 0

    def generate(self, requests, on_result):
        for r in requests:
            if self.stop_after is not None and self.requests >= self.stop_after:
                raise KeyboardInterrupt
            self.requests += 1
            content = r.messages[0]["content"]
            on_result(GenerationResult(r.key, f"seed {r.sampling.seed} \\boxed{{1}}", "stop", 5, 7,
                                       prompt_text=f"<user>{content}<assistant>"))

    def describe(self):
        return {"backend": "fake", "model": self.model_id, "revision": None, "chat_template_sha256": None}

    def close(self):
        pass


def rows(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
