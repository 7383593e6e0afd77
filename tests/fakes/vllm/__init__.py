"""Stand-in for the real vLLM library in justrl's tests (see tests/fakes/README.md); not vLLM."""

from vllm._fake import LLM, SamplingParams, version

__version__ = version()

__all__ = ["LLM", "SamplingParams", "__version__"]
