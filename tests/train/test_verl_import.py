"""Reading veRL's console and file-logger output into justrl's metrics.jsonl."""

from __future__ import annotations

import json
import math

import pytest

from justrl.train.verl_import import (
    VerlLogError,
    import_logs,
    justrl_row,
    main,
    merge,
    parse_console_line,
    parse_jsonl_row,
)


@pytest.mark.parametrize("line, expected", [
    ("step:12 - critic/score/mean:0.123 - actor/entropy:0.61",
     (12, {"critic/score/mean": 0.123, "actor/entropy": 0.61})),
    ("\x1b[36m(TaskRunner pid=4242)\x1b[0m step:3 - actor/pg_loss:-0.0021 - timing_s/gen:95.5\n",
     (3, {"actor/pg_loss": -0.0021, "timing_s/gen": 95.5})),
    ("step:7 - actor/entropy:np.float64(0.5923) - response_length/mean:np.int64(5120)",
     (7, {"actor/entropy": 0.5923, "response_length/mean": 5120.0})),
    ("step:7 - global_seqlen/min:192519", (7, {"global_seqlen/min": 192519.0})),
    ("step:8 - actor/lr:1e-06 - perf/max_memory_allocated_gb:61.2", (8, {"actor/lr": 1e-6,
                                                                          "perf/max_memory_allocated_gb": 61.2})),
    ("step:9 - val-core/AIME24/acc/mean@32:0.28125 - flag:True",
     (9, {"val-core/AIME24/acc/mean@32": 0.28125, "flag": 1.0})),
    ("step:5 - actor/pg_clipfrac:nan - note:some text", (5, {"actor/pg_clipfrac": math.nan})),
    ("step:0", (0, {})),
    ("Training Progress:   1%|          | 1/4000 [01:02<69:00:00]", None),
    ("the step:3 of the run was slow", None),
    ("INFO: resuming at global step:50", (50, {})),  # no metrics: the importer skips it
], ids=["plain", "ray-prefix-and-colour", "numpy-scalars", "int", "exponent", "val-and-bool",
        "nan-kept-text-dropped", "step-only", "progress-bar", "prose-mentioning-step", "step-at-line-end"])
def test_parse_console_line(line, expected):
    got = parse_console_line(line)
    if expected is None:
        assert got is None
        return
    assert got[0] == expected[0] and got[1].keys() == expected[1].keys()
    for key, value in expected[1].items():
        assert got[1][key] == pytest.approx(value, nan_ok=True)


@pytest.mark.parametrize("row, expected", [
    ({"step": 4, "data": {"critic/score/mean": 0.5, "actor/entropy": 0.7}},
     (4, {"critic/score/mean": 0.5, "actor/entropy": 0.7})),
    ({"step": 4, "critic/score/mean": 0.5}, (4, {"critic/score/mean": 0.5})),
    ({"step": 4, "data": {"name": "x", "ok": True, "n": 3}}, (4, {"ok": 1.0, "n": 3.0})),
    ({"data": {"critic/score/mean": 0.5}}, None),
    ([1, 2], None),
], ids=["verl-file-logger", "flat-justrl-row", "non-numeric-dropped", "no-step", "not-an-object"])
def test_parse_jsonl_row(row, expected):
    assert parse_jsonl_row(row) == expected


def test_rows_merge_by_step_and_later_values_win():
    rows = merge([
        (0, {"val-core/AMC23/acc/mean@32": 0.6}),
        (1, {"critic/score/mean": -0.5, "actor/entropy": 0.7}),
        (2, {"critic/score/mean": -0.4}),
        (2, {"critic/score/mean": -0.3}),  # logged again after a resume
        (1, {"actor/grad_norm": 0.2}),
    ])
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[1] == {"step": 1, "critic/score/mean": -0.5, "actor/entropy": 0.7, "actor/grad_norm": 0.2}
    assert rows[2]["critic/score/mean"] == -0.3


@pytest.mark.parametrize("metrics, added", [
    ({"val-core/AIME24/acc/mean@32": 0.25}, {"val/AIME24/avg@32": 0.25}),
    ({"val-core/math_dapo/acc/mean@4": 0.5, "val-aux/math_dapo/reward/mean@4": 0.0},
     {"val/math_dapo/avg@4": 0.5}),
    ({"perf/total_num_tokens": 1000.0, "perf/time_per_step": 4.0}, {"perf/tokens_per_s_total": 250.0}),
    ({"perf/throughput": 31.25, "perf/total_num_tokens": 1000.0, "perf/time_per_step": 4.0},
     {"perf/tokens_per_s_per_gpu": 31.25, "perf/tokens_per_s_total": 250.0}),
    ({"actor/grad_norm": math.inf}, {"actor/grad_norm": None}),
], ids=["val-core-acc-to-avg@k", "aux-val-not-aliased", "tokens-per-second-cluster",
                         "tokens-per-second-per-gpu-as-native", "non-finite-to-null"])
def test_justrl_aliases(metrics, added):
    row = justrl_row(3, metrics)
    for key, value in added.items():
        assert row[key] == value
    assert [k for k in row if k.startswith("val/")] == [k for k in added if k.startswith("val/")]


CONSOLE_LOG = """\
2026-11-28 05:00:01 INFO ray init kwargs: {'num_cpus': None}
(TaskRunner pid=91) Creating file logger at /x.jsonl
(TaskRunner pid=91) step:0 - val-core/AIME24/acc/mean@32:np.float64(0.2875) - val-core/AMC23/acc/mean@32:0.6
(TaskRunner pid=91) step:1 - critic/score/mean:-0.52 - actor/entropy:0.71 - response_length/mean:7012.5 - actor/lr:0.0
Training Progress:   0%|          | 1/4000
(TaskRunner pid=91) step:2 - critic/score/mean:-0.47 - actor/entropy:0.69 - response_length/mean:6990.0 - actor/lr:1e-07
"""


def test_import_console_log_writes_metrics_jsonl(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(CONSOLE_LOG)
    out = import_logs(log, tmp_path / "run")
    assert out == tmp_path / "run" / "metrics.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[0]["val/AIME24/avg@32"] == 0.2875 and rows[0]["val/AMC23/avg@32"] == 0.6
    assert rows[2] == {"step": 2, "critic/score/mean": -0.47, "actor/entropy": 0.69,
                       "response_length/mean": 6990.0, "actor/lr": 1e-7}


def test_import_file_logger_jsonl_and_a_folder_of_logs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "justrl.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"step": 1, "data": {"critic/score/mean": -0.5}},
        {"step": 2, "data": {"critic/score/mean": -0.4, "val-core/AMC23/acc/mean@32": 0.65}},
    ]) + "\n")
    (logs / "console.log").write_text("(TaskRunner pid=1) step:2 - actor/entropy:0.6\n")
    (logs / "notes.md").write_text("step:9 - critic/score/mean:1.0\n")  # not a log file: ignored
    rows = [json.loads(line) for line in import_logs(logs, tmp_path / "run").read_text().splitlines()]
    assert rows == [{"step": 1, "critic/score/mean": -0.5},
                    {"step": 2, "critic/score/mean": -0.4, "val-core/AMC23/acc/mean@32": 0.65,
                     "val/AMC23/avg@32": 0.65, "actor/entropy": 0.6}]


def test_log_without_metrics_is_an_error(tmp_path):
    log = tmp_path / "empty.log"
    log.write_text("nothing to see\n")
    with pytest.raises(VerlLogError, match="no veRL metrics"):
        import_logs(log, tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


@pytest.mark.parametrize("make_args, code, stream, needle", [
    (lambda p: [str(p / "train.log"), "--output-dir", str(p / "run")], 0, "out", "imported 3 steps (0..2)"),
    (lambda p: [str(p / "missing.log"), "--output-dir", str(p / "run")], 2, "err", "does not exist"),
], ids=["imports", "missing-file-one-line"])
def test_cli(tmp_path, capsys, make_args, code, stream, needle):
    (tmp_path / "train.log").write_text(CONSOLE_LOG)
    assert main(make_args(tmp_path)) == code
    captured = capsys.readouterr()
    text = getattr(captured, stream).strip()
    assert needle in text and "\n" not in text


def test_justrl_train_import_verl_then_plot(tmp_path, capsys):
    """`justrl-train import-verl LOGS --output-dir RUN` then `justrl-train plot RUN`, through the CLI."""
    from justrl.train.cli import main as justrl_train

    (tmp_path / "train.log").write_text(CONSOLE_LOG)
    run = tmp_path / "run"
    assert justrl_train(["import-verl", str(tmp_path / "train.log"), "--output-dir", str(run)]) == 0
    assert justrl_train(["plot", str(run)]) == 0
    assert (run / "training.png").read_bytes()[:4] == b"\x89PNG"
