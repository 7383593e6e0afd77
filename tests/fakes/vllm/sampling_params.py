"""Stand-in for ``vllm.sampling_params`` (see tests/fakes/README.md)."""

from vllm._fake import RequestOutputKind, SamplingParams

__all__ = ["RequestOutputKind", "SamplingParams"]
