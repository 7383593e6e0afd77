"""Generation backends behind :class:`justrl.evaluate.backends.base.Backend`: ``hf``, ``openai``, ``vllm``.

``make_backend(name, ...)`` builds one by name; heavy libraries are imported only by the backend that
needs them, and a missing extra raises :class:`BackendError` naming the install command.
"""

from __future__ import annotations

import hashlib

from justrl.evaluate.backends.base import Backend, GenerationRequest, GenerationResult, SamplingParams

BACKENDS = ("hf", "openai", "vllm")


class BackendError(Exception):
    """A backend cannot be built or cannot serve (missing extra, model not found, server refusing).

    The message is one line: what is wrong, what to do."""


def missing_extra(extra: str, package: str) -> BackendError:
    return BackendError(f"the {extra!r} backend needs {package}, which is not installed; "
                        f"run: pip install 'justrl[{extra}]'")


def template_sha256(template: str | None) -> str | None:
    """sha256 of a chat-template string (provenance), None when there is no template."""
    return None if template is None else hashlib.sha256(template.encode("utf-8")).hexdigest()


class LazyBackend:
    """A backend built on first use, so that resuming a complete run never loads the model.

    ``model_id`` is what the built backend will report as its model (used to check that a resumed
    folder belongs to the same model before anything is loaded)."""

    def __init__(self, name: str, model_id: str, factory) -> None:
        self.name = name
        self.model_id = model_id
        self._factory = factory
        self._backend: Backend | None = None

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def get(self) -> Backend:
        if self._backend is None:
            self._backend = self._factory()
        return self._backend

    def generate(self, requests, on_result) -> None:
        self.get().generate(requests, on_result)

    def describe(self) -> dict:
        return self.get().describe()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def make_backend(name: str, *, model: str | None = None, **options) -> Backend:
    """Build backend ``name`` for ``model``; ``options`` are the backend's own keyword arguments."""
    if name == "hf":
        from justrl.evaluate.backends.hf import HFBackend

        return HFBackend.load(model, **options)
    if name == "openai":
        from justrl.evaluate.backends.openai import OpenAIBackend

        return OpenAIBackend(model=model, **options)
    if name == "vllm":
        from justrl.evaluate.backends.vllm import VLLMBackend

        return VLLMBackend(model, **options)
    raise BackendError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendError", "LazyBackend", "GenerationRequest", "GenerationResult", "SamplingParams",
           "make_backend", "missing_extra", "template_sha256"]
