"""Stand-in for ``vllm.distributed`` (see tests/fakes/README.md)."""
