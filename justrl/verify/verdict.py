"""The result type shared by both verification modes, and the documented reason codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Every reason a Verdict can carry. Other code and users filter on these strings.
REASONS: dict[str, str] = {
    "match": "the final answer equals the gold (correct)",
    "mismatch": "a final answer was found and parsed, and it differs from the gold",
    "no_answer": "no final answer was found (strict: no \\boxed{} in the last 100 characters)",
    "truncated": "the response stops before stating its final answer (e.g. an unclosed \\boxed{)",
    "hedged": "the response commits to several different final answers",
    "unparseable": "the answer or the gold could not be parsed, and they differ as strings (also: an answer "
                   "holding a control character such as NUL, which is never silently dropped)",
    "form": "lenient with a question: the answer equals the gold in value but ignores an explicit form demand "
            "of the question (\"simplify\", \"rationalize the denominator\", \"factor completely\", ...)",
    "timeout": "the check ran past its time limit and its worker was killed",
    "too_large": "the input would explode if evaluated (huge numbers, power towers, megabyte strings)",
    "unsafe": "the input looks like code meant to be executed; it is never evaluated",
    "bad_gold": "the gold answer is empty or cannot be used (too long, explosive, or holding a control character)",
    "error": "an internal error in the checker (reported, never raised to the caller)",
}

MODES = ("strict", "lenient")


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one response against one gold answer.

    ``correct`` is the verdict; ``extracted`` is the final answer found in the response (None when
    none was found); ``reason`` is one of :data:`REASONS`; ``mode`` is "strict" or "lenient".
    """

    correct: bool
    extracted: str | None
    reason: str
    mode: str = "lenient"

    @property
    def score(self) -> float:
        """The training reward: +1.0 when correct, -1.0 otherwise."""
        return 1.0 if self.correct else -1.0

    def to_dict(self) -> dict:
        return asdict(self)
