"""The evaluation protocol: how a problem becomes a chat, and how it is sampled.

The ``justrl`` preset is the paper's protocol (DESIGN.md §4): user message = problem +
``" Please reason step by step, and put your final answer within \\boxed{}."``; the model's own chat
template (no system message); temperature 0.7, top_p 0.9, at most 31,744 new tokens; N samples per
problem from each benchmark's ``default_samples`` (32 or 4). Every knob can be overridden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from justrl.benchmarks import BenchmarkSpec, find_benchmark

JUSTRL_SUFFIX = " Please reason step by step, and put your final answer within \\boxed{}."


class ProtocolError(ValueError):
    """A protocol setting is malformed (e.g. bad ``--n`` syntax). One line: what is wrong, what to do."""


@dataclass(frozen=True)
class Protocol:
    """Prompt format and sampling settings of an evaluation.

    ``n`` overrides every benchmark's N; ``n_per_benchmark`` (registry name -> N) overrides single
    ones and wins over ``n``; otherwise a benchmark uses ``BenchmarkSpec.default_samples``.
    ``limit`` keeps the first ``limit`` problems of each benchmark (file order). ``max_tokens`` counts
    new tokens. ``seed`` is the master seed from which per-sample seeds are derived.
    """

    name: str = "justrl"
    suffix: str = JUSTRL_SUFFIX
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 31744
    n: int | None = None
    n_per_benchmark: dict[str, int] = field(default_factory=dict)
    limit: int | None = None
    seed: int = 0

    def samples(self, spec: BenchmarkSpec) -> int:
        """N for ``spec``: per-benchmark override, else the global ``n``, else the default."""
        if spec.name in self.n_per_benchmark:
            return self.n_per_benchmark[spec.name]
        return self.n if self.n is not None else spec.default_samples

    def user_message(self, question: str) -> str:
        """The user turn for ``question``: the problem followed by the suffix."""
        return question + self.suffix

    def messages(self, question: str) -> list[dict[str, str]]:
        """The chat sent to the model (rendered with the model's own chat template)."""
        return [{"role": "user", "content": self.user_message(question)}]

    def sampling(self) -> dict:
        """The sampling settings, as recorded in run.json."""
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

    def with_overrides(self, **changes) -> Protocol:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        out = replace(self, **changes)
        out.validate()
        return out

    def validate(self) -> None:
        """Raise :class:`ProtocolError` for settings no backend can honour."""
        if not 0.0 <= self.temperature <= 10.0:
            raise ProtocolError(f"--temperature {self.temperature} is out of range; use a value in [0, 10]")
        if not 0.0 < self.top_p <= 1.0:
            raise ProtocolError(f"--top-p {self.top_p} is out of range; use a value in (0, 1]")
        if self.max_tokens < 1:
            raise ProtocolError(f"--max-tokens {self.max_tokens} must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ProtocolError(f"--limit {self.limit} must be at least 1")
        for name, value in {"all": self.n, **self.n_per_benchmark}.items():
            if value is not None and value < 1:
                raise ProtocolError(f"--n for {name} is {value}; samples per problem must be at least 1")

    def check_benchmarks(self, names: list[str]) -> None:
        """Refuse per-benchmark ``--n`` entries for benchmarks that are not being run (a typo would
        otherwise be silently ignored): one line naming the entry and the benchmarks run."""
        unused = [name for name in self.n_per_benchmark if name not in names]
        if unused:
            entries = ", ".join(f"{name}={self.n_per_benchmark[name]}" for name in unused)
            raise ProtocolError(f"--n names {entries}, but this run evaluates only {', '.join(names)}; fix the name "
                                f"or add it to --benchmarks")


PRESETS: dict[str, Protocol] = {"justrl": Protocol()}

_N_ITEM = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(\d+)\s*$")


def parse_n(text: str | None) -> tuple[int | None, dict[str, int]]:
    """Parse ``--n``: ``"8"`` -> (8, {}); ``"AIME24=64,AMC23=16"`` -> (None, {"AIME24": 64, "AMC23": 16});
    ``"8,AIME24=64"`` mixes both. Names are resolved case-insensitively to registry names."""
    if text is None or not str(text).strip():
        return None, {}
    overall: int | None = None
    per: dict[str, int] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if part.isdigit():
            if overall is not None:
                raise ProtocolError(f"--n {text!r} gives two global values; write e.g. --n 8 or --n AIME24=64,AMC23=16")
            overall = int(part)
            continue
        match = _N_ITEM.match(part)
        if not match:
            raise ProtocolError(f"--n {text!r}: cannot read {part!r}; write e.g. --n 8 or --n AIME24=64,AMC23=16")
        spec = find_benchmark(match.group(1))
        if spec is None:
            raise ProtocolError(f"--n {text!r}: unknown benchmark {match.group(1)!r}; see `justrl-eval list`")
        per[spec.name] = int(match.group(2))
    return overall, per


def get_preset(name: str) -> Protocol:
    """The named preset (only ``justrl`` exists)."""
    if name not in PRESETS:
        raise ProtocolError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
