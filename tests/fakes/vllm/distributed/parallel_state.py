"""Stand-in for ``vllm.distributed.parallel_state`` (see tests/fakes/README.md): records cleanup calls."""

import gc

from vllm import _fake


def cleanup_dist_env_and_memory(shutdown_ray: bool = False) -> None:
    """As vllm 0.8.5: destroy model-parallel groups and the process group, gc.collect, empty the cache."""
    _fake.EVENTS.append(("cleanup_dist_env_and_memory",))
    gc.collect()
