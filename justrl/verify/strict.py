"""strict mode: the DAPO rule JustRL trained with (``math_dapo.compute_score``, strict_box_verify=True).

The rule, bit for bit: keep the last 300 characters of the response, then the last 100 of those; find
the last ``\\boxed{`` there and its brace-matched closing ``}``; the answer is correct iff the text
between them equals the gold string exactly (no stripping, no normalisation).

One documented addition: a gold written as ``\\boxed{X}`` or ``$X$`` is unwrapped first (some
evaluation sets store golds that way; DAPO's training golds never are, so training parity holds).
"""

from __future__ import annotations

from justrl.verify.verdict import Verdict

BOX_OPEN = "\\boxed{"
RESPONSE_TAIL = 300  # characters kept by compute_score
BOX_WINDOW = 100  # characters searched by is_correct_strict_box


def last_boxed_content(text: str) -> tuple[str | None, bool]:
    """Content of the last ``\\boxed{...}`` in ``text``, brace-matched.

    Returns ``(content, found_open)``: content is None when there is no ``\\boxed{`` or when the last
    one is never closed (``found_open`` tells those two apart).
    """
    start = text.rfind(BOX_OPEN)
    if start < 0:
        return None, False
    depth = 0
    for i in range(start + len(BOX_OPEN) - 1, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + len(BOX_OPEN) : i], True
    return None, True


def unwrap_gold(gold: str) -> str:
    """Strip one ``\\boxed{...}`` wrapper or one pair of ``$`` delimiters from a gold answer."""
    if gold.startswith(BOX_OPEN) and gold.endswith("}"):
        content, _ = last_boxed_content(gold)
        if content is not None and len(content) == len(gold) - len(BOX_OPEN) - 1:
            return content
    if len(gold) >= 2 and gold.startswith("$") and gold.endswith("$") and "$" not in gold[1:-1]:
        return gold[1:-1]
    return gold


def strict_verify(response: str, gold: str) -> Verdict:
    """Apply the DAPO strict-box rule. Pure, bounded (linear in 100 characters), never raises."""
    window = response[-RESPONSE_TAIL:][-BOX_WINDOW:]
    extracted, opened = last_boxed_content(window)
    if extracted is None:
        return Verdict(False, None, "truncated" if opened else "no_answer", "strict")
    correct = extracted == unwrap_gold(gold)
    return Verdict(correct, extracted, "match" if correct else "mismatch", "strict")
