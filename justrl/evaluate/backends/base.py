"""The one small interface every generation backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings for one request. ``max_tokens`` counts new tokens."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 31744
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """One sample to draw. ``key`` identifies it in the run store; ``messages`` is the chat."""

    key: str
    messages: list[dict[str, str]]
    sampling: SamplingParams
    meta: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class GenerationResult:
    """One finished sample. Token counts are None when the backend cannot tell (an OpenAI-compatible
    server that sends no ``usage``); stores and metrics then record them as unknown, never as 0."""

    key: str
    text: str
    finish_reason: str  # "stop" or "length" (truncated), as OpenAI and vLLM name them
    prompt_tokens: int | None
    completion_tokens: int | None
    prompt_text: str | None = None  # the rendered prompt, when the backend renders it


class Backend(Protocol):
    """Generates completions. Results are delivered through ``on_result`` as they finish, in any order."""

    name: str

    def generate(self, requests: list[GenerationRequest],
                 on_result: Callable[[GenerationResult], None]) -> None: ...

    def describe(self) -> dict:
        """Provenance: model id, revision, chat-template hash, library versions."""
        ...

    def close(self) -> None: ...
