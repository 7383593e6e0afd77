"""`justrl-train plot`: the training-dynamics PNG from a run's metrics.jsonl."""

from __future__ import annotations

import json
import math
import sys

import pytest

from justrl.train.plot import (
    PlotError,
    auto_window,
    main,
    moving_average,
    plot_run,
    read_metrics,
    series,
    validation_keys,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_metrics(run, n_steps=60, val_every=20, extra_lines=()):
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "metrics.jsonl", "w") as fh:
        for step in range(1, n_steps + 1):
            row = {"step": step, "actor/entropy": 0.7 - step / 1000, "critic/score/mean": -0.5 + step / 100,
                   "response_length/mean": 5000 - 10 * step, "actor/grad_norm": 0.3}
            if step % val_every == 0:
                row["val/AIME24/avg@32"] = 0.3 + step / 1000
                row["val/AMC23/avg@32"] = 0.6 + step / 1000
            fh.write(json.dumps(row) + "\n")
        for line in extra_lines:
            fh.write(line)
    return run


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("values, window, expected", [
    ([1.0, 2.0, 3.0], 1, [1.0, 2.0, 3.0]),
    ([1.0, 2.0, 3.0, 4.0], 2, [1.0, 1.5, 2.5, 3.5]),
    ([3.0, 0.0, 0.0, 3.0], 3, [3.0, 1.5, 1.0, 1.0]),
    ([], 5, []),
], ids=["window-1-is-identity", "pairs", "short-start-uses-fewer", "empty"])
def test_moving_average(values, window, expected):
    assert moving_average(values, window) == pytest.approx(expected)


@pytest.mark.parametrize("n, window", [(5, 1), (12, 1), (25, 1), (100, 4), (4000, 160)],
                         ids=["tiny", "short", "edge", "hundred", "full-run"])
def test_auto_window(n, window):
    assert auto_window(n) == window


def test_series_skips_missing_null_and_non_finite_and_keeps_last_duplicate():
    rows = [{"step": 1, "k": 1.0}, {"step": 2}, {"step": 3, "k": None}, {"step": 4, "k": math.inf},
            {"step": 5, "k": 2.0}, {"step": 5, "k": 3.0}]
    assert series(rows, "k") == ([1, 5], [1.0, 3.0])


def test_validation_keys_are_found_and_sorted():
    rows = [{"step": 1, "val/AMC23/avg@32": 0.6, "val-core/AMC23/acc/mean@32": 0.6}, {"step": 2, "val/AIME24/avg@32": 0.3}]
    assert validation_keys(rows) == ["val/AIME24/avg@32", "val/AMC23/avg@32"]


def test_read_metrics_skips_a_torn_last_line(tmp_path):
    run = write_metrics(tmp_path / "run", n_steps=3, extra_lines=['{"step": 4, "actor/ent'])
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]


def test_plot_writes_a_png_with_four_panels_when_validation_is_logged(tmp_path):
    run = write_metrics(tmp_path / "run")
    out = plot_run(run)
    assert out == run / "training.png"
    width, height = png_size(out)
    assert height > 0.6 * width  # 2 x 2 grid
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl", "training.png"]  # no temp file left


def test_plot_without_validation_is_one_row_of_three_panels(tmp_path):
    run = write_metrics(tmp_path / "run", val_every=10**9)
    width, height = png_size(plot_run(run, tmp_path / "fig" / "dyn.png", smooth=1))
    assert width > 2.5 * height


def test_plot_accepts_a_metrics_file_and_missing_metrics(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"step": 1, "critic/score/mean": 0.1}) + "\n")
    assert png_size(plot_run(path)) and (tmp_path / "training.png").is_file()


@pytest.mark.parametrize("setup, args, needle", [
    (lambda p: None, lambda p: [str(p / "nope")], "not found"),
    (lambda p: (p / "run").mkdir() or (p / "run" / "metrics.jsonl").write_text(""), lambda p: [str(p / "run")],
     "no metric rows"),
    (lambda p: write_metrics(p / "run", 3), lambda p: [str(p / "run"), "--output", str(p / "x.pdf")], ".png"),
    (lambda p: write_metrics(p / "run", 3), lambda p: [str(p / "run"), "--smooth", "0"], "--smooth"),
], ids=["missing-run", "empty-metrics", "not-png", "bad-smooth"])
def test_cli_errors_are_one_line(tmp_path, capsys, setup, args, needle):
    setup(tmp_path)
    assert main(args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_cli_writes_the_png(tmp_path, capsys):
    run = write_metrics(tmp_path / "run", n_steps=5)
    assert main([str(run), "--output", str(tmp_path / "out.png"), "--smooth", "2"]) == 0
    assert png_size(tmp_path / "out.png") and "out.png" in capsys.readouterr().out


def test_missing_matplotlib_names_the_train_extra(tmp_path, monkeypatch):
    run = write_metrics(tmp_path / "run", n_steps=3)
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + [
            "matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"]:
        monkeypatch.setitem(sys.modules, name, None)  # an import of any of them now raises ImportError
    with pytest.raises(PlotError, match=r"justrl\[train\]"):
        plot_run(run)


def test_imported_verl_run_plots_like_a_native_one(tmp_path):
    from justrl.train.verl_import import import_logs

    log = tmp_path / "verl.log"
    log.write_text("".join(
        f"(TaskRunner pid=1) step:{s} - critic/score/mean:{s / 10} - actor/entropy:0.6"
        f" - response_length/mean:{900 + s}" + (f" - val-core/AIME24/acc/mean@32:{s / 100}" if s % 2 else "") + "\n"
        for s in range(1, 9)))
    run = tmp_path / "run"
    import_logs(log, run)
    width, height = png_size(plot_run(run))
    assert height > 0.6 * width  # validation accuracy found: 2 x 2 grid
