"""The nine JustRL evaluation sets: declared as data, fetched with checksums, loaded as :class:`Problem`.

    from justrl.benchmarks import BENCHMARKS, resolve_benchmarks, load_benchmark
    specs = resolve_benchmarks("AIME24,MATH-500")          # or "all"
    problems = load_benchmark("AIME24", data_dir="data")   # JustRL's data/<NAME>/test.parquet layout
"""

from justrl.benchmarks.errors import BenchmarkDataWarning, BenchmarkError
from justrl.benchmarks.fetch import benchmark_file, cache_root, file_sha256
from justrl.benchmarks.loaders import Problem, load_benchmark, load_benchmark_file, read_problems
from justrl.benchmarks.registry import (
    BENCHMARKS,
    JUSTRL_COMMIT,
    BenchmarkSpec,
    find_benchmark,
    get_benchmark,
    resolve_benchmarks,
)

__all__ = [
    "BENCHMARKS", "JUSTRL_COMMIT", "BenchmarkSpec", "BenchmarkError", "BenchmarkDataWarning", "Problem",
    "resolve_benchmarks", "find_benchmark", "get_benchmark", "load_benchmark", "load_benchmark_file", "read_problems",
    "benchmark_file", "file_sha256", "cache_root",
]
