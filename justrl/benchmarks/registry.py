"""The nine JustRL evaluation sets, declared once as data, and name resolution.

Order is the column order of the JustRL README's results tables. Files live in thunlp/JustRL's
``data/<NAME>/test.parquet`` at the pinned commit; the sha256 values are those of these files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from justrl.benchmarks.errors import BenchmarkError

JUSTRL_REPO = "thunlp/JustRL"
JUSTRL_COMMIT = "cf444e9920b599c865ee6742c88dc162dcabcec2"
RAW_BASE_URL = f"https://raw.githubusercontent.com/{JUSTRL_REPO}/{JUSTRL_COMMIT}/data"
SCHEMAS = ("verl", "matharena", "builtin")
BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass(frozen=True)
class BenchmarkSpec:
    """One evaluation set.

    ``default_samples`` is JustRL's N (samples per problem); ``url`` the pinned source; ``sha256`` the
    checksum of that file; ``schema`` "verl" or "matharena" (see :mod:`justrl.benchmarks.loaders`);
    ``slug`` the run-store file stem (``name.lower()``); ``problems`` the number of rows.
    """

    name: str
    default_samples: int
    url: str
    sha256: str
    schema: str
    slug: str
    problems: int
    label: str  # the column header JustRL's README uses

    @property
    def builtin(self) -> bool:
        """True for a set shipped inside the package (no download, not one of the nine)."""
        return self.schema == "builtin"

    @property
    def relpath(self) -> str:
        """Path inside a JustRL-style data folder: ``<NAME>/test.parquet``."""
        return f"{self.name}/test.parquet"


def _spec(name: str, n: int, sha256: str, schema: str, problems: int, label: str | None = None) -> BenchmarkSpec:
    return BenchmarkSpec(name=name, default_samples=n, url=f"{RAW_BASE_URL}/{name}/test.parquet",
                         sha256=sha256, schema=schema, slug=name.lower(), problems=problems,
                         label=label or name)


BENCHMARKS: dict[str, BenchmarkSpec] = {s.name: s for s in (
    _spec("AIME24", 32, "147a9f9031b37e9b12450dfd4f2050a1bece8b3550bb6b9907fa386b5fedf887", "verl", 30),
    _spec("AIME25", 32, "9d2333e1dc8831284747dfa62b58d8b6a84a94090ee108d1dd101f8d20a38593", "verl", 30),
    _spec("AMC23", 32, "01191828e1fe738a2d19c3379213a6e5c92b425e1f86d67323e7b8613efa5678", "verl", 40),
    _spec("MATH-500", 4, "966193d8d22e279e0055016566f0879b929748c29cba018b5db52981a8d88cfa", "verl", 500),
    _spec("Minerva", 4, "af8621984d495b22f9ddbc301b388163cdb4433031a589ea337dc953085d8f02", "verl", 272),
    _spec("Olympiad-Bench", 4, "2cd97aee40853b19d77a545202907acd84e104498221c6934995ba97f46fde61", "verl", 674,
          label="OlympiadBench"),
    _spec("HMMT25", 32, "ccca64d248b89dc0765e40b893fe4ebeab242226a4336027d95d256886a3d5f2", "matharena", 30),
    _spec("BRUMO25", 32, "ef510deea34c5b6d165c06d020acede1c1031eb91d90336cb4d615d9e55ba391", "matharena", 30),
    _spec("CMIMC25", 32, "7f290e5564265e57b0fe91c72bde2f1a06ca147148b7787084c54a0354abfcce", "matharena", 40),
)}


# Sets shipped with justrl itself, never part of "all". DEMO: 24 easy arithmetic and algebra questions
# written for this project (justrl/benchmarks/builtin/DEMO.jsonl), which a 135M-parameter model gets
# partly right: the offline demo's evaluation when the nine files are neither local nor downloadable.
EXTRA_BENCHMARKS: dict[str, BenchmarkSpec] = {
    "DEMO": BenchmarkSpec(name="DEMO", default_samples=2, url="builtin:justrl/benchmarks/builtin/DEMO.jsonl",
                          sha256="3dcab97a0a0d85d466bae636c8a9fdd3ec42df9266bfc3a57b175918ec8c8520",
                          schema="builtin", slug="demo", problems=24, label="Demo"),
}


def builtin_file(spec: BenchmarkSpec) -> Path:
    """The packaged file of a built-in set."""
    return BUILTIN_DIR / f"{spec.name}.jsonl"


def _key(text: str) -> str:
    """Lookup key: lower case, letters and digits only ("Olympiad-Bench", "olympiadbench" -> same)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


_BY_KEY = {_key(s.name): s for s in (*BENCHMARKS.values(), *EXTRA_BENCHMARKS.values())}


def find_benchmark(name: str) -> BenchmarkSpec | None:
    """The spec whose name matches ``name`` (case and punctuation ignored), or None."""
    return _BY_KEY.get(_key(name))


def get_benchmark(name: str) -> BenchmarkSpec:
    """The spec named ``name``; unknown names raise :class:`BenchmarkError` listing the valid ones."""
    spec = find_benchmark(name)
    if spec is None:
        raise BenchmarkError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)} or 'all' "
                             f"(or the built-in {', '.join(EXTRA_BENCHMARKS)})")
    return spec


def resolve_benchmarks(spec: str | list[str]) -> list[BenchmarkSpec]:
    """Resolve ``"AIME24,MATH-500"``, ``"all"`` or a list of names, case-insensitively.

    Order follows the request (``all`` expands to the nine in registry order; built-in sets such as
    DEMO are only used when named); duplicates are dropped.
    """
    items = [spec] if isinstance(spec, str) else list(spec)
    names = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    if not names:
        raise BenchmarkError(f"no benchmark given; choose from {', '.join(BENCHMARKS)} or 'all'")
    out: list[BenchmarkSpec] = []
    for name in names:
        chosen = list(BENCHMARKS.values()) if name.lower() == "all" else [get_benchmark(name)]
        out.extend(s for s in chosen if s not in out)
    return out
