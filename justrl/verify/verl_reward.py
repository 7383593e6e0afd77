"""veRL ``custom_reward_function`` adapter: justrl's strict (or lenient) verifier as a veRL reward.

veRL loads this file by path and calls the named function once per response. veRL 0.9.x reads the
keys under ``reward.`` (older releases, e.g. 0.4-0.5, take them at the top level without the prefix)::

    reward.custom_reward_function.path=$(python -c "import justrl.verify.verl_reward as m; print(m.__file__)")
    reward.custom_reward_function.name=compute_score            # strict: JustRL's training reward
    reward.custom_reward_function.name=compute_score_lenient    # the paper's lenient-reward ablation

Both return what DAPO's ``math_dapo.compute_score`` returns: ``{"score": +1.0 | -1.0, "acc": bool,
"pred": extracted answer or None}``. ``data_source`` and ``extra_info`` are accepted and ignored;
extra keyword arguments (veRL's ``custom_reward_function.reward_kwargs``) are accepted and ignored.
A non-string ``ground_truth`` (e.g. an int or float read from a parquet file) is compared as its
canonical string (``justrl.verify.api.canonical_gold``: ``7`` and ``7.0`` as ``7``, ``0.5`` as ``0.5``, a
Fraction as ``\\frac{p}{q}``), the same string the API and ``justrl-verify`` use; anything else
(e.g. a bool) as ``str(ground_truth)``.
"""

from __future__ import annotations

from justrl.verify.api import canonical_gold, verify


def gold_string(value) -> str:
    """The gold as the API compares it: canonical for numbers, ``str(value)`` for anything else."""
    try:
        return canonical_gold(value)
    except (TypeError, ValueError):
        return str(value)


def _score(mode: str, solution_str, ground_truth) -> dict:
    response = solution_str if isinstance(solution_str, str) else str(solution_str)
    gold = gold_string(ground_truth)
    verdict = verify(response, gold, mode)
    return {"score": verdict.score, "acc": verdict.correct, "pred": verdict.extracted}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict:
    """Strict reward: the DAPO strict-box rule JustRL trained with (+1 correct, -1 otherwise)."""
    return _score("strict", solution_str, ground_truth)


def compute_score_lenient(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict:
    """Lenient reward (the paper's ablation): a careful grader's verdict, +1 / -1."""
    return _score("lenient", solution_str, ground_truth)
