"""Every verify call is bounded, in the caller too: hostile inputs under an outer kill.

Each case runs in a separate harness process (one per test module, restarted after a kill) through
``quick_verdict`` (the caller-side check), ``verify(..., "strict")`` and ``verify(..., timeout=1)``.
The harness is killed when a case runs past ``OUTER_KILL_S``, so a slow case fails the test instead
of hanging it (a thread cannot do this: a backtracking regex holds the GIL). Limits are generous for
a loaded 2-core machine; the defects they guard against take tens of seconds to hours.

The linearity fuzz (hypothesis) times extraction + ``quick_verdict`` on inputs of n and 4n tokens,
random and repeated, in the same harness: the median of repeats must grow less than 12x.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justrl.verify.verdict import REASONS

ROOT = Path(__file__).resolve().parents[2]
QUICK_LIMIT_S = 1.0  # caller-side quick_verdict per case
STRICT_LIMIT_S = 0.5
LENIENT_TIMEOUT_S = 1.0
LENIENT_LIMIT_S = LENIENT_TIMEOUT_S + 2.5  # the timeout plus killing a worker and reading its pipe, under load
OUTER_KILL_S = 30.0  # the harness is killed past this (the case fails)

HARNESS = r'''
import json, statistics, struct, sys, time
from justrl.verify import verify
from justrl.verify.extract import extract_final_answer
from justrl.verify.lenient import engine, numeric, quick_verdict

WARM = ("so \\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{2})")
verify(*WARM)  # start the worker pool before any clock

def read():
    head = sys.stdin.buffer.read(4)
    if len(head) < 4:
        return None
    return json.loads(sys.stdin.buffer.read(struct.unpack(">I", head)[0]))

def reply(obj):
    data = json.dumps(obj).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
    sys.stdout.buffer.flush()

def clock(func):
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value

while (msg := read()) is not None:
    r, g, q = msg["response"], msg["gold"], msg.get("question")
    if msg["op"] == "case":
        tq, quick = clock(lambda: quick_verdict(r, g, q))
        ts, strict = clock(lambda: verify(r, g, "strict"))
        tl, lenient = clock(lambda: verify(r, g, timeout=msg["timeout"], question=q))
        if lenient.reason == "timeout":
            verify(*WARM)  # replace the killed worker outside the clock
        reply({"quick_s": tq, "quick": None if quick is None else quick.to_dict(), "strict_s": ts,
               "strict": strict.to_dict(), "lenient_s": tl, "lenient": lenient.to_dict()})
    else:  # "time": median wall time of extraction + quick_verdict, caches cleared each run
        times = []
        for _ in range(msg["repeats"]):
            engine._prepared.cache_clear()
            numeric.compile_atom.cache_clear()
            t, _ = clock(lambda: (extract_final_answer(r), quick_verdict(r, g, q)))
            times.append(t)
        reply({"median_s": statistics.median(times)})
'''


class Harness:
    """A child process answering cases; killed (and restarted on the next case) past a deadline."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HARNESS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=ROOT)

    def ask(self, message: dict, limit: float = OUTER_KILL_S) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        data = json.dumps(message).encode()
        self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        self.proc.stdin.flush()
        deadline = time.monotonic() + limit + 60  # + interpreter and worker start-up on a first case
        buffer = b""
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                pytest.fail(f"the case ran past the outer kill ({limit:g} s): it is not bounded")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.kill()
                pytest.fail("the harness process died")
            buffer += chunk
            if len(buffer) >= 4 and len(buffer) >= 4 + struct.unpack(">I", buffer[:4])[0]:
                return json.loads(buffer[4:])

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    if h.proc is not None:
        h.proc.stdin.close()
        try:
            h.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            h.kill()


def _answer_cases() -> list[tuple[str, str]]:
    """(id, boxed content) of hostile answers; each is tried in the response and as the gold."""
    return [
        # transcendental functions of huge arguments (argument reduction needs pi to huge precision)
        ("sin-exp-exp-20", "\\sin(\\exp(\\exp(20)))"),
        ("cos-e-e-20", "\\cos(e^{e^{20}})"),
        ("tan-ten-to-9999", "\\tan(10^{9999})"),
        ("sin-two-to-9999", "\\sin(2^{9999})"),
        ("exp-exp-exp-3", "\\exp(\\exp(\\exp(3)))"),
        ("sinh-ten-to-4000", "\\sinh(10^{4000})"),
        ("sin-exp-ten-to-4", "\\sin(\\exp(10^{4}))"),
        ("cos-of-a-huge-product", "\\cos(10^{999} \\cdot 10^{999} \\cdot 10^{999} \\cdot 10^{999})"),
        ("log-exp-exp", "\\log(\\exp(\\exp(30)))"),
        ("complex-power", "(1+i)^{9999} \\cdot \\sin(10^{900})"),
        ("sqrt-root-index-huge", "\\sqrt[10^{9}]{2}"),
        ("binomial-of-powers", "\\binom{10^{30}}{10^{29}}"),
        # power towers and huge literals
        ("tower-of-twos", "2^{2^{2^{2^{2^{2}}}}}"),
        ("tower-of-tens", "10^{10^{10^{10}}}"),
        ("symbolic-tower", "x^{x^{x^{x}}}"),
        ("power-of-power", "(10^{9999})^{9999}"),
        ("long-digit-run", "7" * 100_000),
        ("long-decimal", "0." + "3" * 100_000),
        ("repeating-decimal", "0.\\overline{" + "9" * 5_000 + "}"),
        ("e-notation-exponent", "1e99999999"),
        ("factorial-of-power", "(10^{5})!"),
        # unit stripping and text groups (backtracking regexes)
        ("unit-letters", "5\\text{" + "m" * 60 + "x}"),
        ("unit-words-spaced", "5\\text{" + "cm " * 200 + "x}"),
        ("repeated-text-groups", "5" + "\\text{ cm}" * 200 + "x"),
        ("repeated-mbox-groups", "5" + "\\mbox{m}^2" * 200 + "!"),
        ("units-per-unit", "5\\text{" + "m/s " * 300 + "x}"),
        ("text-word-run", "\\text{" + "ab " * 3_000 + "}"),
        # structure
        ("deep-braces", "{" * 5_000 + "1" + "}" * 5_000),
        ("deep-parens", "(" * 5_000 + "1" + ")" * 5_000),
        ("deep-fractions", "\\frac{1}{" * 35 + "2" + "}" * 35),
        ("long-list", ",".join(str(i) for i in range(20_000))),
        ("long-sum", "x+" * 4_900 + "1"),
        ("many-sqrt", "\\sqrt{" * 2_000 + "2" + "}" * 2_000),
        ("many-left", "\\left(" * 3_000 + "1" + "\\right)" * 3_000),
        ("many-pm", "1\\pm " * 2_000 + "1"),
        ("long-interval-union", "\\cup".join(f"({i},{i + 1})" for i in range(3_000))),
        ("big-matrix", "\\begin{pmatrix}" + "\\\\".join("&".join("1" for _ in range(60)) for _ in range(60))
         + "\\end{pmatrix}"),
        ("unicode-pi-run", "π" * 50_000),
        ("control-characters", "4\x002\x0c\x1b[31m"),
    ]


def _response_cases() -> list[tuple[str, str, str]]:
    """(id, response, gold) hostile whole responses."""
    return [
        ("answer-then-spaces", "Answer: 5" + " " * 19_500, "5"),
        ("answer-spaces-then-word", "Answer: 5" + " " * 19_500 + "x", "5"),
        ("answer-then-newlines", "Answer: 5" + "\n" * 20_000, "5"),
        ("boxed-percent-x100000", "\\boxed%" * 100_000, "5"),
        ("boxed-open-x100000", "\\boxed{" * 100_000, "5"),
        ("fbox-space-x100000", "\\fbox " * 100_000, "5"),
        ("many-small-boxes", "\\boxed{1} " * 100_000, "1"),
        ("boxes-separated-by-or", "\\boxed{1} or " * 50_000 + "\\boxed{2}", "2"),
        ("answer-word-x100000", "answer " * 100_000, "5"),
        ("answer-colon-x100000", "Answer:" * 100_000, "5"),
        ("final-answer-is-x50000", "the final answer is " * 50_000, "5"),
        ("think-tags", "<think>" * 50_000 + "</think>" * 50_000 + "\\boxed{5}", "5"),
        ("megabyte-prose", "word " * 250_000 + "\\boxed{5}", "5"),
        ("megabyte-letters", "a" * 2_000_000, "5"),
        ("megabyte-backslashes", "\\" * 2_000_000, "5"),
        ("megabyte-dollars", "$" * 2_000_000, "5"),
        ("megabyte-braces", "{" * 1_000_000 + "}" * 1_000_000, "5"),
        ("megabyte-frac-opens", "\\frac{" * 200_000, "5"),
        ("megabyte-text-opens", "\\text{" * 200_000, "5"),
        ("megabyte-bold", "**5** " * 200_000, "5"),
        ("hash-lines", "#### 5\n" * 100_000, "5"),
        ("last-line-digits", "x\n" * 100_000 + "5" * 5_000, "5"),
        ("spaces-everywhere", " " * 3_000_000 + "\\boxed{5}", "5"),
        ("nul-in-box", "so \\boxed{4\x002}", "42"),
        ("nul-run", "\x00" * 1_000_000 + "\\boxed{5}", "5"),
        ("megabyte-gold", "\\boxed{5}", "5" * 1_000_000),
        ("megabyte-gold-prose", "\\boxed{5}", "word " * 200_000),
    ]


CASES = []
for _id, _answer in _answer_cases():
    CASES.append((f"{_id}-in-response", f"Reasoning ... so the answer is \\boxed{{{_answer}}}.", "1"))
    CASES.append((f"{_id}-in-gold", "Reasoning ... \\boxed{1}", _answer))
CASES.extend(_response_cases())


def _check(result: dict) -> None:
    assert result["quick_s"] < QUICK_LIMIT_S, f"quick_verdict took {result['quick_s']:.2f} s in the caller"
    assert result["strict_s"] < STRICT_LIMIT_S, f"strict took {result['strict_s']:.2f} s"
    assert result["lenient_s"] < LENIENT_LIMIT_S, \
        f"verify(timeout={LENIENT_TIMEOUT_S:g}) took {result['lenient_s']:.2f} s"
    for name in ("strict", "lenient"):
        assert result[name]["reason"] in REASONS
    if result["quick"] is not None:
        assert result["quick"] == result["lenient"], "the quick verdict is the verdict"


@pytest.mark.parametrize("response,gold", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_is_bounded_in_the_caller_and_under_the_timeout(harness, response, gold):
    _check(harness.ask({"op": "case", "response": response, "gold": gold, "timeout": LENIENT_TIMEOUT_S}))


@pytest.mark.parametrize("question", ["Simplify " * 200_000, "\\sqrt{" * 100_000, "factor completely " + "x" * 10**6],
                         ids=["megabyte-question", "question-of-opens", "question-with-a-long-word"])
def test_a_hostile_question_is_bounded_too(harness, question):
    _check(harness.ask({"op": "case", "response": "so \\boxed{\\sqrt{75}}", "gold": "5\\sqrt{3}",
                        "question": question, "timeout": LENIENT_TIMEOUT_S}))


VERDICTS = [
    ("nul-never-joins-digits", "so \\boxed{4\x002}", "42", False),
    ("nul-in-gold-never-joins-digits", "so \\boxed{42}", "4\x002", False),
    ("form-feed-is-not-a-space", "so \\boxed{4\x0c2}", "42", False),
    ("huge-transcendental-is-not-zero", "\\boxed{\\sin(\\exp(\\exp(20)))}", "0", False),
    ("huge-value-is-too-large", "\\boxed{e^{e^{20}}}", "1", False),
    ("tabs-and-newlines-still-spacing", "so \\boxed{\\frac{1}{2}\t}", "\\frac12", True),
]


@pytest.mark.parametrize("response,gold,correct", [v[1:] for v in VERDICTS], ids=[v[0] for v in VERDICTS])
def test_hostile_inputs_get_the_right_verdict(harness, response, gold, correct):
    result = harness.ask({"op": "case", "response": response, "gold": gold, "timeout": LENIENT_TIMEOUT_S})
    _check(result)
    assert result["lenient"]["correct"] is correct


def test_control_characters_are_refused_not_dropped():
    from justrl.verify.lenient import lenient_verify, quick_verdict

    for verdict in (quick_verdict("\\boxed{4\x002}", "42"), lenient_verify("\\boxed{4\x002}", "42")):
        assert (verdict.correct, verdict.reason) == (False, "unparseable")
    assert quick_verdict("\\boxed{42}", "4\x002").reason == "bad_gold"


def test_astronomical_values_are_too_large_and_explosive_golds_bad_gold():
    from justrl.verify.lenient import quick_verdict

    assert quick_verdict("\\boxed{\\sin(\\exp(\\exp(20)))}", "0").reason == "too_large"
    assert quick_verdict("\\boxed{e^{e^{20}}}", "1").reason == "too_large"
    assert quick_verdict("\\boxed{1}", "\\exp(\\exp(\\exp(20)))").reason == "bad_gold"
    assert quick_verdict("\\boxed{1}", "10^{10^{10}}").reason == "bad_gold"
    assert quick_verdict("\\boxed{2^{100}}", "1267650600228229401496703205376").correct, "big but exact still works"


# -- caches bounded in bytes --------------------------------------------------------------------------

def test_prepared_answer_weights_are_honest():
    import tracemalloc

    from justrl.verify.lenient import engine

    engine._prepared.cache_clear()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(30):
            engine._prepared(f"{i}x" + "7, " * 2_700)  # distinct 8 KB answers (lists: real structures)
        held = tracemalloc.get_traced_memory()[0] - base
        weighed = engine._prepared.cache.bytes
    finally:
        tracemalloc.stop()
        engine._prepared.cache_clear()
    assert len(engine._prepared.cache) == 0 and weighed > 0
    assert held < 1.5 * weighed + (1 << 20), f"held {held} bytes, weighed {weighed}"


def test_the_prepared_answer_cache_is_bounded_in_bytes():
    import tracemalloc

    from justrl.verify.lenient import engine
    from justrl.verify.lenient.cache import BytesLRU

    assert isinstance(engine._prepared.cache, BytesLRU)
    assert engine._prepared.cache.max_bytes == engine.PREPARED_CACHE_BYTES <= 64 << 20
    sample = engine._prepared("0x" + "7, " * 2_700)  # one real 8 KB entry
    engine._prepared.cache_clear()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):  # 20k distinct 8 KB answers, each with an entry like the real one
            key = f"{i}x" + "7, " * 2_700
            engine._prepared.cache.put(key, (sample[0] + str(i), sample[1]))
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    try:
        assert engine._prepared.cache.bytes <= engine.PREPARED_CACHE_BYTES
        assert held < engine.PREPARED_CACHE_BYTES + (16 << 20), f"{held / 2**20:.0f} MiB held after 20k answers"
        assert len(engine._prepared.cache) < 20_000, "old entries were evicted"
    finally:
        engine._prepared.cache_clear()


def test_bytes_lru_evicts_least_recently_used_and_skips_huge_entries():
    from justrl.verify.lenient.cache import BytesLRU, deep_size

    cache = BytesLRU(max_bytes=20_000, max_entry_bytes=5_000)
    for i in range(100):
        cache.put(i, "x" * 1_000)
    assert cache.bytes <= 20_000 and 0 < len(cache) < 100
    assert cache.get(99) is not None and cache.get(0) is None
    cache.put("big", "y" * 10_000)
    assert cache.get("big") is None, "an entry heavier than max_entry_bytes is not stored"
    assert deep_size(("a" * 1000, ["b" * 1000])) > 2000


# -- linearity fuzz -------------------------------------------------------------------------------------

TOKENS = ["\\boxed{", "\\boxed", "\\fbox", "}", "{", "\\text{", "\\mbox{", "cm", "m", " ", "  ", "\n", "Answer:",
          "answer", "the answer is ", "**", "#", "####", "$", "\\(", "\\)", "\\frac", "\\sqrt", "^", "_", "%", "\\%",
          "1", "42", "0.5", "x", "=", ",", ".", "or", "and", "wait", "\\pm", "\\cup", "(", ")", "[", "]", "\\\\",
          "&", "<think>", "</think>", "\\left(", "\\right)", "\\sin", "\\exp", "e", "!", "\\cdot", "\\overline{",
          "so", "Final Answer:", "A:", "(B)", "seven", "π", "√", "°", "\x00",
          # compound tokens: the shapes of known caller-side blow-ups, repeated
          "\\boxed%", "\\boxed ", "Answer: 5 ", "5\\text{m", "\\text{cm}", "mm", "\\boxed{1} or ", "**5** "]
SMALL_N, FACTOR, MAX_RATIO, REPEATS = 4_000, 4, 12.0, 3
REPEATED_CHARS = 40_000  # size of the small repeated-token input
BOXED_CHARS = 2_000  # ... inside a box (4n stays under the 10,000-character answer limit)
NOISE_FLOOR_S = 0.02  # below this total time at 4n, the ratio is noise, not growth


def _ratio(harness, small: str, large: str, gold: str) -> tuple[float, float, float]:
    t_small = harness.ask({"op": "time", "response": small, "gold": gold, "repeats": REPEATS})["median_s"]
    t_large = harness.ask({"op": "time", "response": large, "gold": gold, "repeats": REPEATS})["median_s"]
    return t_large / max(t_small, 1e-4), t_small, t_large


def _assert_linear(harness, small: str, large: str, gold: str) -> None:
    ratio, t_small, t_large = _ratio(harness, small, large, gold)
    if t_large > NOISE_FLOOR_S and ratio >= MAX_RATIO:
        ratio, t_small, t_large = _ratio(harness, small, large, gold)  # once more: a loaded machine stalls
    assert t_large <= NOISE_FLOOR_S or ratio < MAX_RATIO, \
        f"{FACTOR}x input took {ratio:.1f}x as long ({t_small * 1e3:.1f} ms -> {t_large * 1e3:.1f} ms)"


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), alphabet=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8, unique=True),
       gold=st.sampled_from(["5", "\\frac{1}{2}", "x+1", "(1,2)"]))
def test_caller_side_work_is_linear_on_random_token_streams(harness, seed, alphabet, gold):
    import random

    rng = random.Random(seed)
    tokens = [rng.choice(alphabet) for _ in range(SMALL_N * FACTOR)]
    _assert_linear(harness, "".join(tokens[:SMALL_N]), "".join(tokens), gold)


WRAPS = {"bare": ("", ""), "boxed": ("\\boxed{5", "}"), "in-text": ("\\boxed{5\\text{", "x}}"),
         "after-answer": ("Answer: 5", "x")}


@pytest.mark.parametrize("wrap", list(WRAPS))
@pytest.mark.parametrize("token", TOKENS, ids=[repr(t) for t in TOKENS])
def test_caller_side_work_is_linear_on_each_repeated_token(harness, token, wrap):
    left, right = WRAPS[wrap]
    # inside a box the answer must stay under MAX_ANSWER_CHARS at 4n, or it is refused before parsing
    n = max(1, (REPEATED_CHARS if wrap in ("bare", "after-answer") else BOXED_CHARS) // len(token))
    _assert_linear(harness, left + token * n + right, left + token * (FACTOR * n) + right, "5")


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(unit=st.lists(st.sampled_from(TOKENS), min_size=2, max_size=3),
       prefix=st.sampled_from(["", "\\boxed{", "Answer: 5", "\\boxed{5\\text{"]),
       suffix=st.sampled_from(["", "}", "x}}", "\\boxed{5}"]))
def test_caller_side_work_is_linear_on_repeated_token_groups(harness, unit, prefix, suffix):
    token = "".join(unit)
    n = max(1, REPEATED_CHARS // len(token))
    _assert_linear(harness, prefix + token * n + suffix, prefix + token * (FACTOR * n) + suffix, "5")
