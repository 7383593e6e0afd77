"""Optional LLM-judge fallback (e.g. CompassVerifier-3B) for samples the rule verifier rejected.

The judge runs through any generation backend (:class:`justrl.evaluate.backends.base.Backend`). It is
asked only about rule-incorrect samples that *have* a final answer (``Verdict.extracted`` is not None):
a response without a final answer cannot be rescued. Its verdicts are reported as their own layer
(rule-only, judge-added, final) so the rule numbers stay visible.

Prompt: the three-way protocol CompassVerifier was trained for (question, standard answer, candidate
answer; reply A = correct, B = incorrect, C = invalid), as JustRL's ``evals/grade.py`` uses it. The
candidate is the response's last ``tail_chars`` characters (the reasoning's end and its final
answer), which bounds the judge's input; JustRL sends whole responses (up to 31,744 tokens).
Decoding is greedy. Parsing (:func:`parse_judgement`): the reply's first letter-word decides
(``A``/``CORRECT`` -> correct; ``B``/``INCORRECT``/``C``/``INVALID`` -> incorrect); anything else is
"unparsed" and counts as incorrect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from justrl.evaluate.backends.base import Backend, GenerationRequest, GenerationResult, SamplingParams

JUDGE_PROMPT = """As an expert grader, decide whether the candidate's final answer agrees with the standard answer.
Rules:
1. The standard answer is always correct and the question is valid; do not solve the problem again.
2. Compare only the final answer; ignore any mistakes in the reasoning.
3. Answers may be written differently (expressions, text, units); they agree when they mean the same thing.
4. For answers with several parts (multiple choice, several blanks), every part must agree.
5. Ignore a \\boxed{{}} wrapper around the candidate's answer.
6. If the candidate's answer is invalid (cut off, endlessly repetitive, off-topic, or a refusal), choose C.
Grade the candidate as one of:
A: CORRECT
B: INCORRECT
C: INVALID
Reply with the letter only.
<Original Question Begin>:
{question}
<Original Question End>
<Standard Answer Begin>:
{gold}
<Standard Answer End>
<Candidate's Answer Begin>:
{response}
<Candidate's Answer End>
Judging the correctness of the candidate's answer:
"""

_FIRST_WORD = re.compile(r"[A-Za-z]+")
_WORDS = {"a": "correct", "correct": "correct", "b": "incorrect", "incorrect": "incorrect",
          "c": "invalid", "invalid": "invalid"}


@dataclass(frozen=True)
class JudgeItem:
    """One sample to judge: the problem, its gold answer and the model's full response."""

    question: str
    gold: str
    response: str


@dataclass(frozen=True)
class JudgeVerdict:
    """``label`` is "correct", "incorrect", "invalid" or "unparsed"; ``raw`` is the judge's reply."""

    label: str
    raw: str

    @property
    def correct(self) -> bool:
        return self.label == "correct"


def parse_judgement(text: str) -> str:
    """Map a judge reply to "correct" / "incorrect" / "invalid" / "unparsed" by its first word.

    Leading markup (``**``, ``\\boxed{``) is skipped: "A", "A: CORRECT", "**B**", "\\boxed{C}" parse;
    "The answer is A" does not (the first word is "The").
    """
    for match in _FIRST_WORD.finditer(text):
        word = match.group(0).lower()
        if word == "boxed":
            continue
        return _WORDS.get(word, "unparsed")
    return "unparsed"


class Judge:
    """Ask a backend-served judge model about samples; see the module docstring for the protocol."""

    def __init__(self, backend: Backend, *, model: str | None = None, max_tokens: int = 64,
                 tail_chars: int = 8000, prompt: str = JUDGE_PROMPT) -> None:
        self.backend = backend
        self.model = model
        self.max_tokens = max_tokens
        self.tail_chars = tail_chars
        self.prompt = prompt

    def render(self, item: JudgeItem) -> str:
        """The user message sent to the judge for ``item``."""
        response = item.response
        if len(response) > self.tail_chars:
            response = "[...]" + response[-self.tail_chars:]
        return self.prompt.format(question=item.question, gold=item.gold, response=response)

    def requests(self, items: list[JudgeItem]) -> list[GenerationRequest]:
        """One greedy request per item, keyed ``judge/<position>``."""
        sampling = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=self.max_tokens, seed=0)
        return [GenerationRequest(key=f"judge/{i}", messages=[{"role": "user", "content": self.render(item)}],
                                  sampling=sampling) for i, item in enumerate(items)]

    def judge(self, items: list[JudgeItem], *, progress: Callable[[int], None] | None = None) -> list[JudgeVerdict]:
        """Verdicts in the order of ``items`` (the backend may finish them in any order). ``progress``, when
        given, is called with the number of replies received so far."""
        if not items:
            return []
        replies: dict[str, str] = {}

        def collect(result: GenerationResult) -> None:
            replies[result.key] = result.text
            if progress is not None:
                progress(len(replies))

        self.backend.generate(self.requests(items), collect)
        verdicts = []
        for i in range(len(items)):
            raw = replies.get(f"judge/{i}", "")
            verdicts.append(JudgeVerdict(parse_judgement(raw), raw))
        return verdicts

    def describe(self) -> dict:
        """Provenance for results.json: the judge backend's own description plus our settings."""
        info = {"model": self.model, "max_tokens": self.max_tokens, "tail_chars": self.tail_chars,
                "protocol": "CompassVerifier A/B/C"}
        try:
            info["backend"] = self.backend.describe()
        except Exception as exc:  # provenance must never break grading
            info["backend"] = {"error": f"{type(exc).__name__}: {exc}"}
        return info
