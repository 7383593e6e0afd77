"""LLM-judge layer (e.g. CompassVerifier-3B) on top of a rule grader, in two documented protocols.

The judge runs through any generation backend (:class:`justrl.evaluate.backends.base.Backend`), decodes
greedily, and its verdicts are reported as their own layer (rule-only, judge-added, final).

``protocol="justrl"`` — JustRL's ``evals/grade.py`` exactly (thunlp/JustRL commit cf444e9), used by
``--grader justrl``:

* asked about **every** rule failure (no box and cut-off responses included);
* the prompt is CompassVerifier's own ``CV_PROMPT`` byte for byte (:data:`COMPASS_VERIFIER_PROMPT`,
  from open-compass/CompassVerifier ``src/prompts.py`` at commit 2d7cba6, the prompt the model was
  trained on and the one its model card shows; JustRL's ``grade.py`` holds an identical copy), sent
  as one user message through the judge's chat template, with the **whole** response as the candidate;
* the question is empty by default (``question="empty"``: JustRL reads ``question`` from rows that have
  no such key, so every prompt carries ``""``); ``question="real"`` sends the problem instead;
* up to 2,048 reply tokens (JustRL's ``SamplingParams(temperature=0.0, max_tokens=2048)``);
* correct iff the reply, after Python's ``str.strip()``, is exactly ``"A"`` (anything else, including
  ``"A: CORRECT"`` or ``"**A**"``, is incorrect).

``protocol="lenient"`` — justrl's earlier judge, kept as documented: asked only about rule failures
that *have* a final answer, a reworded three-way prompt (:data:`JUDGE_PROMPT`), the question given,
the response's last ``tail_chars`` characters, 64 reply tokens, and the reply's first letter-word
decides (:func:`parse_judgement`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

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

# open-compass/CompassVerifier, src/prompts.py (commit 2d7cba6df0b21f9c6121786ac1e5770c68473598), CV_PROMPT,
# byte for byte (sha256 of the template text: COMPASS_VERIFIER_PROMPT_SHA256). Lines 2, 10 and 21 end in a
# space in the original; they are spelled out so no editor strips them. Placeholders: {question},
# {gold_answer}, {llm_response}; "{{}}" renders as "{}".
_CV_LINES = (
    "",
    "Please as a grading expert, judge whether the final answers given by the candidates below are consistent "
    "with the standard answers, that is, whether the candidates answered correctly. ",
    "Here are some evaluation criteria:",
    "1. Please refer to the given standard answer. You don't need to re-generate the answer to the question "
    "because the standard answer has been given. You only need to judge whether the candidate's answer is "
    "consistent with the standard answer according to the form of the question. THE STANDARD ANSWER IS ALWAYS "
    "CORRECT AND THE QUESTION IS PERFECTLY VALID. NEVER QUESTION THEM.",
    "2. ONLY compare the FINAL ANSWER - COMPLETELY IGNORE any potential errors in the REASONING PROCESSES.",
    "3. Some answers may be expressed in different ways, such as some answers may be a mathematical expression, "
    "some answers may be a textual description, as long as the meaning expressed is the same. Before making a "
    "judgment, please understand the question and the standard answer first, and then judge whether the "
    "candidate's answer is correct.",
    "4. Some answers may consist of multiple items, such as multiple-choice questions, multiple-select questions, "
    "fill-in-the-blank questions, etc. Regardless of the question type, the final answer will be considered "
    "correct as long as it matches the standard answer, regardless of whether the reasoning process is correct. "
    "For multiple-select questions and multi-blank fill-in-the-blank questions, all corresponding options or "
    "blanks must be answered correctly and match the standard answer exactly to be deemed correct.",
    "5. If the prediction is given with \\boxed{{}}, please ignore the \\boxed{{}} and only judge whether the "
    "candidate's answer is consistent with the standard answer.",
    "6. If the candidate's answer is invalid (e.g., incomplete (cut off mid-response), lots of unnormal "
    "repetitive content, or irrelevant to the question, saying it can't answer the question because some "
    "irresistible factors, like ethical issues, no enough information, etc.), select option C (INVALID).Please "
    "judge whether the following answers are consistent with the standard answer based on the above criteria. "
    "Grade the predicted answer of this new question as one of:",
    "A: CORRECT ",
    "B: INCORRECT",
    "C: INVALID",
    'Just return the letters "A", "B", or "C", with no text around it.',
    "Here is your task. Simply reply with either CORRECT, INCORRECT, or INVALID. Don't apologize or correct "
    "yourself if there was a mistake; we are just trying to grade the answer.",
    "<Original Question Begin>:",
    "{question}",
    "<Original Question End>",
    "<Standard Answer Begin>:",
    "{gold_answer}",
    "<Standard Answer End>",
    "<Candidate's Answer Begin>: ",
    "{llm_response}",
    "<Candidate's Answer End>",
    "Judging the correctness of the candidate's answer:",
    "",
)
COMPASS_VERIFIER_PROMPT = "\n".join(_CV_LINES)
COMPASS_VERIFIER_PROMPT_SHA256 = "aee9c27520639ca543f0b5077164dc32c1976be0f16c87bee7055f3b7ba45e72"
JUSTRL_JUDGE_MAX_TOKENS = 2048  # JustRL evals/grade.py: SamplingParams(temperature=0.0, max_tokens=2048)
PROTOCOLS = ("justrl", "lenient")
# The hf and vllm backends refuse a batch whose prompt + max_tokens exceeds the context with a message
# containing this (justrl/evaluate/backends/context.py check_context); see Judge._generate_fitting.
CONTEXT_ERROR = "has a context of"
FIT_REPLY_TOKENS = 16  # reply budget for a prompt too long for the full 2,048 (the verdict is one token)
MIN_FIT_CHARS = 1000  # a response is never cut below this many characters
QUESTION_MODES = ("empty", "real")

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


def parse_justrl_judgement(text: str) -> str:
    """JustRL's reading of a reply: "correct" iff ``text.strip() == "A"``; otherwise "incorrect" for a bare
    "B", "invalid" for a bare "C", and "unparsed" for anything else (all three count as incorrect)."""
    reply = text.strip()
    return {"A": "correct", "B": "incorrect", "C": "invalid"}.get(reply, "unparsed")


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
    """Ask a backend-served judge model about samples; see the module docstring for the two protocols.

    ``max_tokens`` and ``tail_chars`` default to the protocol's (justrl: 2,048 and the whole response;
    lenient: 64 and 8,000 characters). ``question`` ("empty" or "real") applies to the justrl protocol.
    """

    def __init__(self, backend: Backend, *, model: str | None = None, protocol: str = "lenient",
                 question: str = "empty", max_tokens: int | None = None, tail_chars: int | None = None,
                 prompt: str | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown judge protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}")
        if question not in QUESTION_MODES:
            raise ValueError(f"unknown judge question mode {question!r}; choose {' or '.join(QUESTION_MODES)}")
        justrl = protocol == "justrl"
        self.backend = backend
        self.model = model
        self.protocol = protocol
        self.question = question
        self.max_tokens = max_tokens if max_tokens is not None else (JUSTRL_JUDGE_MAX_TOKENS if justrl else 64)
        self.tail_chars = tail_chars if tail_chars is not None or justrl else 8000
        self.prompt = prompt if prompt is not None else (COMPASS_VERIFIER_PROMPT if justrl else JUDGE_PROMPT)

    def with_protocol(self, protocol: str, question: str = "empty") -> Judge:
        """The same backend and model under ``protocol`` with that protocol's defaults."""
        return Judge(self.backend, model=self.model, protocol=protocol, question=question)

    def wants(self, rule_correct: bool, extracted: str | None) -> bool:
        """Whether this protocol asks about a sample with that rule verdict (justrl: every rule failure;
        lenient: rule failures with a final answer)."""
        if rule_correct:
            return False
        return self.protocol == "justrl" or extracted is not None

    def render(self, item: JudgeItem) -> str:
        """The user message sent to the judge for ``item``."""
        response = item.response
        if self.tail_chars is not None and len(response) > self.tail_chars:
            response = "[...]" + response[-self.tail_chars:]
        if self.protocol == "justrl":
            question = item.question if self.question == "real" else ""
            return self.prompt.format(question=question, gold_answer=item.gold, llm_response=response)
        return self.prompt.format(question=item.question, gold=item.gold, response=response)

    def parse(self, text: str) -> str:
        """The protocol's label for a reply."""
        return parse_justrl_judgement(text) if self.protocol == "justrl" else parse_judgement(text)

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

        items = list(items)  # fitting may replace an item's response; the caller's list stays as it was
        requests = self.requests(items)
        self.fitted = {"reply_tokens_capped": 0, "responses_cut": 0}
        self._generate_fitting(items, requests, list(range(len(items))), collect)
        verdicts = []
        for i in range(len(items)):
            raw = replies.get(f"judge/{i}", "")
            verdicts.append(JudgeVerdict(self.parse(raw), raw))
        return verdicts

    def _generate_fitting(self, items: list[JudgeItem], requests: list[GenerationRequest], todo: list[int],
                          collect: Callable[[GenerationResult], None]) -> None:
        """Generate ``todo``; when the backend refuses the batch because a prompt + reply budget exceeds the
        judge model's context (the hf and vllm backends check before generating anything), find the
        requests that do not fit by halving the batch, and fit each as JustRL's vLLM run did: first the
        reply budget shrinks to :data:`FIT_REPLY_TOKENS` (vLLM stops a reply at the context end; a verdict
        is one token, so "A" stays "A"); only a prompt that alone overflows loses the start of its response
        (JustRL's run would have failed there). Counts are kept in ``self.fitted``."""
        from justrl.evaluate.backends import BackendError

        try:
            self.backend.generate([requests[i] for i in todo], collect)
            return
        except BackendError as exc:
            if CONTEXT_ERROR not in str(exc):
                raise
            if len(todo) > 1:
                half = len(todo) // 2
                self._generate_fitting(items, requests, todo[:half], collect)
                self._generate_fitting(items, requests, todo[half:], collect)
                return
            i = todo[0]
            req = requests[i]
            if req.sampling.max_tokens > FIT_REPLY_TOKENS:
                sampling = replace(req.sampling, max_tokens=FIT_REPLY_TOKENS)
                self.fitted["reply_tokens_capped"] += 1
            else:
                response = items[i].response
                if len(response) <= MIN_FIT_CHARS:
                    raise
                items[i] = replace(items[i], response=response[len(response) // 2:])
                self.fitted["responses_cut"] += 1
                sampling = req.sampling
            requests[i] = GenerationRequest(key=req.key, messages=[{"role": "user", "content": self.render(items[i])}],
                                            sampling=sampling)
            self._generate_fitting(items, requests, [i], collect)

    def describe(self) -> dict:
        """Provenance for results.json: the judge backend's own description plus our settings."""
        info = {"model": self.model, "protocol": self.protocol, "max_tokens": self.max_tokens,
                "fitted_to_context": getattr(self, "fitted", None),
                "tail_chars": self.tail_chars,
                "prompt": "CompassVerifier CV_PROMPT (byte for byte)" if self.prompt == COMPASS_VERIFIER_PROMPT
                else "justrl reworded A/B/C prompt" if self.prompt == JUDGE_PROMPT else "custom",
                "question": self.question if self.protocol == "justrl" else "real",
                "asked": "every rule failure" if self.protocol == "justrl" else "rule failures with a final answer",
                "correct_if": 'reply.strip() == "A"' if self.protocol == "justrl" else "first word A or CORRECT"}
        try:
            info["backend"] = self.backend.describe()
        except Exception as exc:  # provenance must never break grading
            info["backend"] = {"error": f"{type(exc).__name__}: {exc}"}
        return info
