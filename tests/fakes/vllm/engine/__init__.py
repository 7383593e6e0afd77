"""Stand-in for ``vllm.engine`` (see tests/fakes/README.md)."""
