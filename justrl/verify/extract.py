"""Final-answer extraction for lenient mode: find what a response commits to as its final answer.

Rules (a careful grader's reading, see DESIGN.md section 2):

- The final answer is the content of the last brace-matched ``\\boxed{...}`` or ``\\fbox{...}`` anywhere
  in the response (``\\boxed 5`` also counts). When a reasoning model closes its thinking with
  ``</think>``, an answer stated after it is preferred.
- Several boxes at the very end separated only by commas / "and" / whitespace (``\\boxed{1}, \\boxed{2}``)
  are read as one list answer ``1, 2``; boxes separated by "or" that differ are a hedge (``hedged``), and
  so is an earlier, different box offered as an alternative ("\\boxed{16}; if not, \\boxed{5}",
  "\\boxed{4}, although possibly \\boxed{5}") unless the text between them revises it ("wait", "recount").
- Without any box, only an explicit statement counts: "Answer: ...", "the final answer is ...",
  "the answer is ..." (the last one in the response).
- A last box that is never closed means the response was cut off (``truncated``); so does an open
  ``<think>`` block that never ends, and reasoning after the last box that stops mid-sentence on a word
  that cannot end one ("..., which", "and the") -- the box was passed on the way, not committed to.
- A markdown heading ``# Answer`` followed by the answer is an explicit statement.

Extraction is linear in the response length: it scans backwards with ``str.rfind`` and brace-matches
with a compiled regex, so a megabyte response is handled in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOX_COMMANDS = ("\\boxed", "\\fbox")
MAX_RESPONSE_CHARS = 8_000_000  # beyond this the response is refused as too_large without scanning
MAX_JOINED_BOXES = 12  # boxes joined into one list answer at most
_BRACE = re.compile(r"[{}]")
_SEPARATOR_ONLY = re.compile(
    r"^(?:\s|\(?\b(?:[a-h]|i{1,3}|iv|v|vi)\)|(?:part|Part)\s*\(?[a-h1-9]\)?:?|\$|\\\(|\\\)|\\\[|\\\]|,|;|\.|&|\\quad|\\qquad|\\\\|\\,|\\text\{\s*and\s*\}|\band\b|\*\*)*$"
)
_OR_SEPARATOR = re.compile(r"^(?:\s|\$|\\\(|\\\)|\\\[|\\\]|,|\.|\\quad|\\text\{\s*or\s*\}|\bor\b|\*\*)*$")
_HAS_OR = re.compile(r"\bor\b")
_STATEMENT = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s*(?:\([^()\n]{0,30}\)\s*)?is|\banswer\s*:|\banswer\s*\*\*\s*:|\*\*answer\*\*\s*:?"
    r"|(?m:^[ \t]*\#{1,6}[ \t]*(?:final[ \t]+)?answer[ \t]*:?[ \t]*$))",  # a markdown heading "# Answer"
    re.IGNORECASE,
)
# Between an earlier box and the final one: wording that offers the earlier box as an alternative
# ("\boxed{16}; if not, it is \boxed{5}", "\boxed{4}, although possibly \boxed{5}") makes a hedge,
# unless the text says the earlier one was revised ("wait", "correcting an error", "recount").
_ALTERNATIVE = re.compile(
    r"\b(?:if\s+not|otherwise|alternatively|depending|either|or\s+else|if\s+instead"
    r"|(?:or|although|though|but)\s+(?:possibly|perhaps|maybe))\b",
    re.IGNORECASE,
)
_REVISION = re.compile(
    r"\b(?:wait|actually|correct\w*|mistake\w*|errors?|wrong|incorrect|re-?check\w*|re-?count\w*|re-?calculat\w*"
    r"|re-?comput\w*|re-?examin\w*|re-?do\w*|double[- ]check\w*|on\s+reflection|oops|hmm+|miscount\w*|overcount\w*"
    r"|undercount\w*|forgot|missed|fix\w*)\b",
    re.IGNORECASE,
)
MAX_ALTERNATIVE_GAP = 300  # characters between an earlier box and the final one read as one hedge at most
# Text after the final box that stops mid-sentence on a word or symbol that cannot end one: the
# response was cut off while still reasoning, so the box it passed was not its final answer.
_DANGLING_END = re.compile(
    r"(?:\b(?:which|that|the|an?|and|or|of|to|we|whether|but|then|since|because|if|with|from|into|its|gives"
    r"|yields|equals)|[=+(,]|\\cdot|\\times)\s*$",
    re.IGNORECASE,
)
MAX_STATEMENT_SCAN = 4_000  # characters after "Answer:" read at most (an answer is at most 300)
MIN_TRAILING_FOR_TRUNCATION = 40  # characters of reasoning after the last box before a cut-off is suspected


@dataclass(frozen=True)
class Extraction:
    """What the response commits to.

    ``answer`` is the final answer text (None when there is none); ``status`` is one of
    "boxed", "statement", "bare" (the whole response is a short answer), "no_answer", "truncated", "hedged", "too_large".
    """

    answer: str | None
    status: str


def _match_brace(text: str, open_index: int) -> int:
    """Index of the ``}`` matching the ``{`` at ``open_index``, or -1 when it is never closed."""
    depth = 0
    for m in _BRACE.finditer(text, open_index):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


@dataclass(frozen=True)
class _Box:
    start: int  # index of the backslash of \boxed
    end: int  # index just past the box (past '}' or the bare token)
    content: str | None  # None when the box is never closed


_NON_SPACE = re.compile(r"\S")
_BARE_TOKEN = re.compile(r"\s*(-?[0-9]+(?:\.[0-9]+)?|\\[A-Za-z]+|[A-Za-z])")


def _box_at(text: str, start: int, command: str) -> _Box | None:
    """Parse the box whose command starts at ``start``; None when it is not a box (e.g. ``\\boxedx``)."""
    i = start + len(command)
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    if j < len(text) and text[j] == "{":
        close = _match_brace(text, j)
        if close < 0:
            return _Box(start, len(text), None)
        return _Box(start, close + 1, text[j + 1 : close])
    if i < len(text) and (text[i].isalpha()):
        return None  # another command, e.g. \boxedsomething
    m = _BARE_TOKEN.match(text, i)
    if m is None:
        if _NON_SPACE.search(text, i) is None:  # O(1) at a non-space, never a slice of the rest
            return _Box(start, len(text), None)  # "\boxed" at the very end: cut off
        return None
    return _Box(start, m.end(), m.group(1))


def _last_box_before(text: str, limit: int) -> _Box | None:
    """The last box that starts before ``limit``."""
    # each command's last position is searched once and then only moved back past a non-box, so the
    # whole walk is one backward pass (a rescan of every command per candidate was quadratic)
    found = {cmd: text.rfind(cmd, 0, limit) for cmd in BOX_COMMANDS}
    while True:
        best_cmd = max(found, key=lambda c: found[c])
        best = found[best_cmd]
        if best < 0:
            return None
        box = _box_at(text, best, best_cmd)
        if box is not None:
            return box
        found[best_cmd] = text.rfind(best_cmd, 0, best)


def _final_boxes(text: str) -> tuple[list[_Box], list[str]]:
    """The last box and the boxes right before it, with the separator text between them."""
    last = _last_box_before(text, len(text))
    if last is None:
        return [], []
    boxes = [last]
    seps: list[str] = []
    while len(boxes) < MAX_JOINED_BOXES:
        prev = _last_box_before(text, boxes[0].start)
        if prev is None or prev.content is None or prev.end > boxes[0].start:
            break  # none, unclosed, or an outer box that contains the current one
        sep = text[prev.end : boxes[0].start]
        if len(sep) > 60 or not (_SEPARATOR_ONLY.match(sep) or _OR_SEPARATOR.match(sep)):
            break
        boxes.insert(0, prev)
        seps.insert(0, sep)
    return boxes, seps


def _offered_alternative(text: str, first: _Box, contents: list[str]) -> str | None:
    """The earlier box's content when it is offered as an alternative to the final group (a hedge)."""
    prev = _last_box_before(text, first.start)
    if prev is None or prev.content is None or prev.end > first.start:
        return None
    earlier = prev.content.strip()
    if not earlier or earlier in contents:
        return None
    gap = text[prev.end : first.start]
    if len(gap) > MAX_ALTERNATIVE_GAP:
        return None
    if _ALTERNATIVE.search(gap) is None or _REVISION.search(gap) is not None:
        return None
    return earlier


def _from_boxes(text: str) -> Extraction | None:
    boxes, seps = _final_boxes(text)
    if not boxes:
        return None
    if boxes[-1].content is None:
        return Extraction(None, "truncated")
    trailing = text[boxes[-1].end :].strip()
    if len(trailing) >= MIN_TRAILING_FOR_TRUNCATION and _DANGLING_END.search(trailing[-64:]):
        return Extraction(None, "truncated")
    contents = [b.content.strip() for b in boxes if b.content is not None]
    earlier = _offered_alternative(text, boxes[0], contents)
    if earlier is not None:
        return Extraction(" or ".join([earlier, ", ".join(contents)]), "hedged")
    if len(contents) == 1:
        return Extraction(contents[0], "boxed") if contents[0] else Extraction(None, "no_answer")
    if any(_HAS_OR.search(s) for s in seps):
        distinct = {c for c in contents}
        if len(distinct) > 1:
            return Extraction(" or ".join(contents), "hedged")
        return Extraction(contents[-1], "boxed")
    # de-duplicate exact repeats ("\boxed{5}. \boxed{5}") while keeping order
    unique: list[str] = []
    for c in contents:
        if c and c not in unique:
            unique.append(c)
    if not unique:
        return Extraction(None, "no_answer")
    return Extraction(", ".join(unique), "boxed")


def _clean_statement(answer: str) -> str:
    answer = answer.strip()
    for _ in range(3):
        before = answer
        answer = answer.strip().strip("*").strip()
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if answer.startswith(left) and answer.endswith(right) and len(answer) >= len(left) + len(right):
                answer = answer[len(left) : len(answer) - len(right)].strip()
        answer = answer.rstrip(".").strip()
        if answer == before:
            break
    return answer


_LEADING_MATH = re.compile(r"^(?:\$\$(?P<a>.+?)\$\$|\$(?P<b>[^$]+)\$|\\\((?P<c>.+?)\\\)|\\\[(?P<d>.+?)\\\])")
_TRAILING_PROSE = re.compile(
    r",?\s+(?:which|and\s+(?:we|so|this|that|the)|so|since|because|as|where|that|but)\s+\S", re.IGNORECASE
)


def _sentence():
    # imported on use: justrl.verify.lenient imports this module (its package __init__ loads the engine)
    from justrl.verify.lenient import sentence

    return sentence


def _from_statement(text: str) -> Extraction | None:
    # a final-answer statement sits at the end of a response: look backwards from the last "answer"
    tail_start = max(0, len(text) - 20_000)
    lowered = text[tail_start:].lower()
    last = None
    k = len(lowered)
    while last is None:
        k = lowered.rfind("answer", 0, k)
        if k < 0:
            return None
        window_start = tail_start + max(0, k - 12)
        for m in _STATEMENT.finditer(text, window_start, min(len(text), tail_start + k + 50)):
            last = m
    if last is None:
        return None
    rest = text[last.end() :]
    # the answer runs to the end of its line, or to a sentence-ending full stop
    line_end = rest.find("\n", 1 if rest.startswith("\n") else 0)
    segment = rest if line_end < 0 else rest[:line_end]
    if segment.strip() == "" and line_end >= 0:
        nxt = rest[line_end + 1 :]
        nl = nxt.find("\n")
        segment = nxt if nl < 0 else nxt[:nl]
    # one space per run, and a cap: the regexes below then never meet a long run of blanks
    segment = " ".join(segment[:MAX_STATEMENT_SCAN].split()).lstrip(":").strip()
    math = _LEADING_MATH.match(segment.lstrip("*").strip())
    if math is not None:
        segment = next(g for g in math.groups() if g is not None)  # "the answer is $x=3$, and we are done"
    else:
        stop = re.search(r"(?<![0-9])\.(?=\s|$)|(?<=[0-9])\.(?=\s+[A-Z]|$)", segment)
        if stop is not None:
            segment = segment[: stop.start()]
        prose = _TRAILING_PROSE.search(segment)
        if prose is not None:
            segment = segment[: prose.start()]
    answer = _clean_statement(segment)
    if answer and math is None and _sentence().is_prose(answer):
        value = _sentence().sentence_value(segment.lstrip("*: "))  # "Answer: the angle measures **75 degrees**" -> 75 degrees
        if value:
            answer = _clean_statement(value)
    if not answer or len(answer) > 300:
        return None
    return Extraction(answer, "statement")


_SENTENCE = re.compile(r"[A-Za-z]{2,}[\s,]+[A-Za-z]{2,}|\?")
_TEXT_GROUP = re.compile(r"\\(?:text|textbf|mbox|mathrm)\s*\{[^{}]*\}|\\[A-Za-z]+")


def _bare_answer(text: str) -> Extraction | None:
    """A response that is nothing but an answer (one short line, no prose) is that answer."""
    stripped = text.strip()
    if not stripped or len(stripped) > 500 or "\n" in stripped:
        return None
    if _SENTENCE.search(_TEXT_GROUP.sub(" ", stripped)):
        return None
    return Extraction(_clean_statement(stripped), "bare")


_GSM_LINE = re.compile(r"^\s*(?:####|A\s*:|Ans\s*[:.])\s*(?P<v>\S.{0,200}?)\s*$")
_CONCLUSIVE = re.compile(
    r"^\W*(?:so|thus|hence|therefore|finally|consequently|altogether|overall|in\s+(?:conclusion|total|summary|all)"
    r"|as\s+a\s+result|this\s+(?:means|gives|shows)|we\s+conclude|the\s+(?:final\s+)?(?:answer|result)"
    r"|the\s+(?:right|correct)\s+(?:answer|choice|option))\b",
    re.IGNORECASE,
)
_THE_X_IS = re.compile(
    r"^\W*the\s+[^.?!,;]{1,80}?\b(?:is|are|equals|has\s+a\s+value\s+of|measures|totals)\b", re.IGNORECASE
)
# a sentence that opens like working, not like a conclusion
_WORKING_OPENER = re.compile(
    r"^\W*(?:since|because|if|when|let|first|second|next|now|to|using|given|suppose|assume|note|recall|consider"
    r"|substitut\w*|plug\w*|then|we\s+(?:can|need|have\s+to|must|want|substitute|plug|start|begin|try))\b",
    re.IGNORECASE,
)
# a step or list item of the working ("Step 3: the discriminant is 16.", "2. The area is 6.")
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022+]\s|\d{1,2}[.)]\s|\(?[a-z]\)\s|#+\s|(?:\*\*)?(?:step|case|part)\b)", re.IGNORECASE)
# the line before a bare final value that announces it ("That leaves:", "The total is:")
_ANNOUNCES = re.compile(
    r"\b(?:leaves?|left|total|result|answer|remains?|final|gives?|get|obtain|equals?|is|are)\b\W{0,3}:\s*$", re.IGNORECASE
)
_CLAUSE_BREAK = re.compile(r"[,;]|\b(?:so|then|hence|thus|and\s+so)\b", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$[^$]*\$")
_CURRENCY = re.compile(r"\$(?=\d)")
# a final line that asks, plans or offers to go on is no conclusion ("Let me know if you'd like me to continue")
_NOT_FINAL = re.compile(
    r"\?\W*$|\b(?:let\s+me|let's|let\s+us|I\s+will|I'll|we\s+will|we'll|we\s+need|next|continue|would\s+you|"
    r"if\s+you|you\s+(?:can|may|might)|should\s+I|need\s+to|to\s+be\s+continued|remains\s+to|then\s+we)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!])\s+(?=[A-Z*])")
MAX_FINAL_LINE = 600  # a final line longer than this is a paragraph, not a statement


def _final_sentence(text: str) -> tuple[str, bool, bool, str] | None:
    """The response's last sentence; whether it is its whole line after earlier lines of working;
    whether it is the whole response; and the line before it. None when the last line is too long."""
    end = len(text)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    start = text.rfind("\n", max(0, end - MAX_FINAL_LINE - 1), end) + 1
    window = max(0, end - MAX_FINAL_LINE)
    for marker in _END_THINK_MARKERS:  # "... working <end think> $\\angle B = 76^\\circ$.": a new line
        k = text.rfind(marker, max(start, window), end)
        if k >= 0:
            start = k + len(marker)
            while start < end and text[start] in " \t":
                start += 1
    if start == 0 and end > MAX_FINAL_LINE or start < window:
        return None  # the last line is longer than MAX_FINAL_LINE: a paragraph, not a statement
    line = text[start:end].strip()
    if not line:
        return None
    if line.count("$") % 2 and _CURRENCY.search(line):
        line = _CURRENCY.sub("", line)  # "made $22 from pizza sales": a price, not a math span
    # sentence boundaries outside math spans only
    last = 0
    in_math = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "$":
            in_math = not in_math
        elif not in_math and ch in ".!" and i + 1 < len(line) and line[i + 1] == " ":
            j = i + 1
            while j < len(line) and line[j] == " ":
                j += 1
            if j < len(line) and (line[j].isupper() or line[j] == "*") and not line[max(0, i - 1)].isdigit():
                last = j
        i += 1
    prev_end = start - 1
    while prev_end > 0 and text[prev_end - 1].isspace():
        prev_end -= 1
    previous = text[max(text.rfind("\n", 0, prev_end) + 1, prev_end - 200) : prev_end] if prev_end > 0 else ""
    return line[last:], last == 0 and start > 0, last == 0 and start == 0, previous


def _from_final_line(text: str) -> Extraction | None:
    """An unboxed response whose very end states its answer: "So the number of marbles is **41**.",
    "#### 19", "Thus the ratio is $\\frac{2}{7}$.". Only the final sentence of the final line is read, and
    it must be that whole line (after earlier lines of working) or mark its value in bold; a question,
    a plan or an offer to continue there is no answer, and so is one cut off mid-formula."""
    found = _final_sentence(text)
    if found is None:
        return None
    sentence, own_line, whole, previous = found
    gsm = _GSM_LINE.match(sentence)
    if gsm is not None:
        value = _clean_statement(gsm.group("v"))
        return Extraction(value, "statement") if value and len(value) <= 300 else None
    if _NOT_FINAL.search(sentence) or _DANGLING_END.search(sentence.rstrip(".!*$ ")):
        return None
    if sentence.count("$") % 2 or sentence.rstrip().endswith((",", ":", ";")):
        return None  # an open math span or a clause that goes on: cut off
    if own_line and len(sentence) <= 60 and not _sentence().is_prose(sentence) and (
        _ANNOUNCES.search(previous) or previous.strip() == "####"
    ):
        value = _clean_statement(sentence)  # "That leaves:\n2"
        return Extraction(value, "statement") if value else None
    conclusive = _CONCLUSIVE.match(sentence) is not None or _THE_X_IS.match(sentence) is not None
    if own_line:
        # a line of its own after the working: a conclusion, or a plain statement of one value
        finished = sentence.rstrip("*$ ").endswith((".", "!")) or sentence.rstrip().endswith("**")
        if not conclusive and (_WORKING_OPENER.match(sentence) or _LIST_ITEM.match(sentence) or not finished):
            return None  # a plain statement must read as a finished sentence, not a step of the working
    elif whole:
        if _THE_X_IS.match(sentence) is None or _CLAUSE_BREAK.search(_MATH_SPAN.sub("", sentence)):
            return None  # a one-sentence response answers only as "The <quantity> is <value>.", one clause
    elif not (conclusive and "**" in sentence):
        # the working's last sentence in the same paragraph ("..., so there are 12 ways.") is no
        # committed answer; a conclusion with a bold value is
        return None
    value = _sentence().sentence_value(sentence)
    if value is None or not value.strip() or len(value) > 300:
        return None
    return Extraction(value, "statement")


_JSON_ANSWER = re.compile(r'\{\s*"answer"\s*:\s*(?:"(?P<q>[^"{}]{1,200})"|(?P<n>[^"{},\s][^"{},]{0,199}?))\s*\}')
_SCRIPT_WRAPPER = re.compile(r"<script[^<>]{0,80}>|</script>")
_END_THINK_MARKERS = ("<end think>", "</thinking>", "<|end_of_thought|>", "</reasoning>")
MAX_ANSWER_TAG = 4_000  # characters inside <answer>...</answer> read at most


def _from_answer_tag(text: str) -> Extraction | None:
    """The content of the last closed ``<answer>...</answer>`` (R1-zero style prompts): a box inside it,
    else the value it states (a bare value, ``x = 6``, ``3/24 = 1/8``, or the one value of its last
    sentence: "Jasmine has 13 stickers at the end."). An unclosed tag is no answer."""
    open_ = text.rfind("<answer>")
    if open_ < 0:
        return None
    close = text.find("</answer>", open_)
    if close < 0 or close - open_ > MAX_ANSWER_TAG:
        return None
    if any(text.find(cmd, close) >= 0 for cmd in BOX_COMMANDS):
        return None  # a box after the tag is the later answer
    content = _SCRIPT_WRAPPER.sub(" ", text[open_ + len("<answer>") : close]).strip()
    if not content:
        return None
    boxed = _from_boxes(content)
    if boxed is not None:
        return boxed
    sentence = _sentence()
    prose = sentence.is_prose(content)
    if not prose and "$" not in content:
        value = _clean_statement(content)
        return Extraction(value, "statement") if value else None
    found = _final_sentence(content)
    last = found[0] if found is not None else content
    value = sentence.sentence_value(last)
    if value is None:
        if prose:
            return None
        value = content  # "$4$", "So, $\\sqrt{242} = 11\\sqrt{2}$" without the words
    value = _clean_statement(value)
    return Extraction(value, "statement") if value and len(value) <= 300 else None


def extract_final_answer(response: str) -> Extraction:
    """Find the final answer of ``response`` (see the module docstring for the rules). Never raises."""
    if len(response) > MAX_RESPONSE_CHARS:
        return Extraction(None, "too_large")
    text = response
    think_open = text.rfind("<think>")
    think_close = text.rfind("</think>")
    if think_open >= 0 and think_close < think_open:
        return Extraction(None, "truncated")  # thinking never finished
    if think_close >= 0:
        after = text[think_close + len("</think>") :]
        found = _from_boxes(after) or _from_statement(after) or _from_final_line(after)
        if found is not None:
            return found
    found = _from_answer_tag(text) if "<answer>" in text else None
    if found is not None:
        return found
    if '"answer"' in text[-600:]:
        json_answer = _JSON_ANSWER.search(text, max(0, len(text) - 600))
        if json_answer is not None and not any(text.find(c, json_answer.end()) >= 0 for c in BOX_COMMANDS):
            value = _clean_statement(json_answer.group("q") or json_answer.group("n"))
            if value:
                return Extraction(value, "statement")  # {"answer": 16} near the end
    found = _from_boxes(text)
    if found is not None:
        return found
    found = _from_statement(text)
    if found is not None:
        return found
    return _bare_answer(text) or _from_final_line(text) or Extraction(None, "no_answer")
