"""Stand-in for ``vllm.engine.arg_utils`` (see tests/fakes/README.md).

``EngineArgs`` is a dataclass whose fields are those of the faked version: ``logprobs_mode`` exists in
vLLM 0.33.0 (``engine/arg_utils.py``) and not in 0.8.5; the fake adds it from 0.10.0 on. ``vllm.LLM``
builds ``EngineArgs(model=..., **kwargs)``, so an unknown keyword is a ``TypeError`` as in the real one.
"""

from vllm import _fake

EngineArgs = _fake.engine_args_class()  # replaced by _fake.set_version()
