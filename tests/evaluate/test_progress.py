"""Progress that tells the truth everywhere (issue 11 item 2): plain lines when stderr is not a terminal,
rates and ETAs from this session's completions without start-up, tok/s that does not decay."""

from __future__ import annotations

import io
import time

import pytest

from justrl.evaluate.progress import LiveProgress, RateMeter, StepProgress, format_duration


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rate_and_eta_are_unknown_until_a_second_completion():
    clock = Clock()
    meter = RateMeter(10, clock=clock)
    assert (meter.rate(), meter.eta(), meter.tokens_per_second()) == (None, None, None)
    clock.t = 120.0  # model loading and the first batch
    meter.add(1, 50)
    assert (meter.rate(), meter.eta()) == (None, None)
    assert format_duration(meter.eta()) == "unknown"


def test_start_up_is_not_in_the_rate():
    clock = Clock()
    meter = RateMeter(20, clock=clock)
    clock.t = 100.0  # 100 s of start-up before the first sample
    meter.add(1, 10)
    for _ in range(9):
        clock.t += 1.0
        meter.add(1, 10)
    assert meter.rate() == pytest.approx(1.0)  # 9 samples in 9 s, not 10 in 109 s
    assert meter.eta() == pytest.approx(10.0)


def test_a_burst_of_completions_does_not_give_an_eta_of_seconds():
    clock = Clock()
    meter = RateMeter(64, clock=clock)
    clock.t = 60.0
    for _ in range(16):  # a batch of 16 finishes at once
        meter.add(1, 100)
    clock.t = 60.001
    assert meter.eta() is None  # no time has passed since the first batch: unknown, not "0 s"
    clock.t = 120.0
    for _ in range(16):
        meter.add(1, 100)
    assert meter.eta() == pytest.approx(32 / (16 / 60.0))  # 16 samples per minute: two more minutes


def test_resumed_samples_count_as_done_but_not_as_speed():
    clock = Clock()
    meter = RateMeter(100, done=90, clock=clock)
    clock.t = 5.0
    meter.add(1)
    clock.t = 10.0
    meter.add(1)
    assert meter.done == 92 and meter.rate() == pytest.approx(0.2)
    assert meter.eta() == pytest.approx(40.0)


def test_tokens_per_second_freezes_when_the_row_finishes():
    clock = Clock()
    meter = RateMeter(4, clock=clock)
    for t in (10.0, 11.0, 12.0, 13.0):
        clock.t = t
        meter.add(1, 100)
    final = meter.tokens_per_second()
    assert final == pytest.approx(100.0)
    clock.t = 10_000.0
    assert meter.tokens_per_second() == final and meter.eta() == 0.0


def test_tokens_per_second_from_two_completions():
    clock = Clock()
    meter = RateMeter(4, clock=clock)
    meter.add(1, 100)
    clock.t = 2.0
    meter.add(1, 100)
    assert meter.tokens_per_second() == pytest.approx(50.0)


def test_tokens_per_second_is_a_recent_window():
    clock = Clock()
    meter = RateMeter(1000, window=10.0, clock=clock)
    for i in range(100):  # slow phase: 10 tok/s
        clock.t = float(i)
        meter.add(1, 10)
    for i in range(20):  # fast phase: 1000 tok/s
        clock.t = 100.0 + i * 0.5
        meter.add(1, 500)
    assert meter.tokens_per_second() == pytest.approx(1000.0, rel=0.1)


def test_no_terminal_prints_plain_lines_on_a_timer():
    stream = io.StringIO()
    with LiveProgress(stream=stream, interval=0.05) as live:
        live.add("AIME24", 4, done=1)
        live.add("AMC23", 2)
        time.sleep(0.3)  # nothing completes: lines still appear
        for _ in range(3):
            live.advance("AIME24", 10)
    lines = stream.getvalue().splitlines()
    assert lines and all(x.startswith("justrl-eval: ") for x in lines)
    assert "1/6 samples (16.7%), unknown samples/s, - tok/s, ETA unknown | AIME24 1/4 AMC23 0/2" in lines[0]
    assert any(x.startswith("justrl-eval: AIME24 done: 4/4 samples in ") for x in lines)
    assert "\x1b" not in stream.getvalue()  # no terminal control codes in logs


def test_a_terminal_gets_the_rich_bar():
    stream = TTY()
    with LiveProgress(stream=stream, interval=0.05) as live:
        assert live._progress is not None and live._ticker is None
        live.add("AIME24", 2)
        live.advance("AIME24", 5)


def test_disabled_progress_prints_nothing():
    stream = io.StringIO()
    with LiveProgress(enabled=False, stream=stream, interval=0.01) as live:
        live.add("AIME24", 2)
        live.advance("AIME24", 5)
        time.sleep(0.05)
    step = StepProgress(False, stream=stream)
    assert step.start("x", 3) is None
    assert stream.getvalue() == ""


def test_step_progress_reports_seconds_per_step_without_start_up():
    clock = Clock()
    stream = io.StringIO()
    bar = StepProgress(stream=stream, unit="step", prefix="justrl-train", interval=0, clock=clock)
    with bar:
        update = bar.start("train", 10, done=2)
        clock.t = 300.0  # loading the model, the first step
        update(3)
        clock.t = 320.0
        update(4, info="score 0.41")
        clock.t = 340.0
        update(5)
        assert bar.rate_text() == "20.00 s/step"
        line = bar.status_line()
        bar.stop()
    assert line == "train: 5/10 (50.0%), 20.00 s/step, elapsed 5m40s, ETA 1m40s | score 0.41"
    assert stream.getvalue().strip() == f"justrl-train: {line}"


def test_step_progress_accepts_verify_many_callbacks():
    from justrl.verify import verify_many

    stream = io.StringIO()
    with StepProgress(stream=stream, interval=0) as bar:
        update = bar.start("grading", 3)
        verdicts = verify_many([("\\boxed{1}", "1"), ("\\boxed{2}", "1"), ("x", "1")], workers=1, progress=update)
        bar.stop()
    assert [v.correct for v in verdicts] == [True, False, False]
    assert "grading: 3/3 done in " in stream.getvalue()


@pytest.mark.parametrize("seconds, text", [(None, "unknown"), (0, "0s"), (59.4, "59s"), (61, "1m01s"),
                                           (3600 * 2 + 180, "2h03m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_an_evaluation_without_a_terminal_logs_plain_progress(tmp_path, capsys):
    from fake_store_backend import FakeBackend, problems

    from justrl.evaluate.protocol import Protocol
    from justrl.evaluate.runner import run_eval

    run_eval(FakeBackend(), "AIME24", output_dir=tmp_path, protocol=Protocol(n=2, max_tokens=8),
             problems=problems(), progress=True, grade=False)
    err = capsys.readouterr().err
    assert "justrl-eval: AIME24 done: 6/6 samples in " in err and "\x1b[" not in err
