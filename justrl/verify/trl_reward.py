"""TRL reward functions: justrl's strict (and lenient) verifier for ``trl.GRPOTrainer``.

    from trl import GRPOTrainer
    from justrl.verify.trl_reward import strict_reward
    trainer = GRPOTrainer(model=..., reward_funcs=[strict_reward], train_dataset=dataset, ...)

TRL calls ``reward(prompts=..., completions=..., completion_ids=..., **columns)`` where every dataset
column except ``prompt`` arrives as a list with one value per completion. The gold answer is read from
the first column present, in this order:

1. ``ground_truth`` - the answer string;
2. ``answer`` - the answer string;
3. ``solution`` - a worked solution: its last ``\\boxed{...}`` is the gold (the whole text if unboxed);
4. ``reward_model`` - veRL/DAPO layout, ``{"ground_truth": ...}``.

Completions may be plain strings or conversational (a list of messages): the content of the last
assistant message is verified (text parts joined when the content is a list of parts). Rewards are
+1.0 / -1.0; a row whose gold is None gets None (TRL then ignores this function for that row). A
numeric gold (an int or float column) is compared as its canonical string (``7.0`` as ``7``), as in
the API.
"""

from __future__ import annotations

from collections.abc import Sequence

from justrl.verify.api import verify_many
from justrl.verify.strict import last_boxed_content
from justrl.verify.verl_reward import gold_string

GOLD_COLUMNS = ("ground_truth", "answer", "solution", "reward_model")


class RewardInputError(ValueError):
    """The dataset has no gold-answer column, or a completion has an unknown shape."""


def completion_text(completion) -> str:
    """The text to verify: the string itself, or the last assistant message's content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
        if assistant:
            return _content_text(assistant[-1].get("content"))
    raise RewardInputError(f"cannot read a completion of type {type(completion).__name__}; expected a string "
                           "or a list of {'role', 'content'} messages")


def _content_text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):  # [{"type": "text", "text": ...}, ...]
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return str(content)


def gold_answers(count: int, columns: dict) -> list[str | None]:
    """One gold per completion from the first column of :data:`GOLD_COLUMNS` present in ``columns``."""
    for name in GOLD_COLUMNS:
        if name in columns and columns[name] is not None:
            values = list(columns[name])
            if len(values) != count:
                raise RewardInputError(f"column {name!r} has {len(values)} values for {count} completions")
            return [_gold_from(name, value) for value in values]
    present = ", ".join(sorted(k for k in columns if not k.startswith(("trainer_state", "log_")))) or "none"
    raise RewardInputError(f"no gold-answer column: the dataset needs one of {', '.join(GOLD_COLUMNS)} "
                           f"(columns passed: {present})")


def _gold_from(column: str, value) -> str | None:
    if value is None:
        return None
    if column == "reward_model":
        value = value.get("ground_truth") if isinstance(value, dict) else None
        return None if value is None else gold_string(value)
    text = gold_string(value)
    if column == "solution":
        boxed, _ = last_boxed_content(text)
        return text if boxed is None else boxed
    return text


def _rewards(mode: str, completions, columns: dict) -> list[float | None]:
    texts = [completion_text(c) for c in completions]
    golds = gold_answers(len(texts), columns)
    rows = [i for i, g in enumerate(golds) if g is not None]
    verdicts = verify_many([(texts[i], golds[i]) for i in rows], mode=mode)
    rewards: list[float | None] = [None] * len(texts)
    for i, verdict in zip(rows, verdicts, strict=True):
        rewards[i] = verdict.score
    return rewards


def strict_reward(prompts, completions, **kwargs) -> list[float | None]:
    """JustRL's training reward (the DAPO strict-box rule): +1.0 correct, -1.0 otherwise."""
    return _rewards("strict", completions, kwargs)


def lenient_reward(prompts, completions, **kwargs) -> list[float | None]:
    """The paper's lenient-reward ablation: a careful grader's verdict, +1.0 / -1.0."""
    return _rewards("lenient", completions, kwargs)
