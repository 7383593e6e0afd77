"""Output files and displays for graded runs: atomic writers, report.md, and the terminal summary.

Everything here reads the ``results`` dict that :func:`justrl.evaluate.grading.grade_run` builds;
nothing is recomputed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from justrl.benchmarks import BENCHMARKS

PARTIAL_NOTE = ("* not comparable: the run covers fewer problems than the benchmark, or problems have "
                "unequal sample counts")
GRADER_NOTE = ("† not like for like: the paper graded with its rule plus a CompassVerifier-3B judge on every rule "
               "failure (empty question); this difference uses the rule alone or another judge set-up")


def write_text_atomic(path: str | Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    Readers never see a partial file. ``durable`` also fsyncs the data before the rename (survives power
    loss, ~10 ms per file); derived views that ``justrl-eval grade`` regenerates from the run store
    (graded/*.jsonl, grading_results.json, report.md) skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone on a shared cluster
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: str | Path, data, *, durable: bool = True) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", durable=durable)


def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _columns(results: dict) -> list[str]:
    """The results' keys: the nine that ran in the README's order, then the others (results order)."""
    keys = list(results["benchmarks"])
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    return sorted(keys, key=lambda k: (order.get(results["benchmarks"][k]["benchmark"], len(order)), keys.index(k)))


def _header(results: dict, key: str) -> str:
    bench = results["benchmarks"][key]
    spec = BENCHMARKS.get(bench["benchmark"])
    label = (spec.label if spec else bench["benchmark"]) + key[len(bench["benchmark"]):]
    return f"{label} (@{bench['n']})"


def _pct_cell(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}%"


def _ci_cell(mean: float | None, ci: list | None) -> str:
    if mean is None or ci is None:
        return "—"
    return f"{_f(mean)} [{_f(ci[0], 1)}, {_f(ci[1], 1)}]"


def _marks(cmp: dict) -> str:
    return ("" if cmp["comparable"] else "*") + ("" if cmp.get("like_for_like") else "†")


def _diff_cell(cmp: dict | None) -> str:
    if cmp is None:
        return "—"
    lo, hi = cmp["diff_ci95"]
    return f"{cmp['diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]{_marks(cmp)}"


def model_label(results: dict) -> str:
    return results.get("model_short") or results.get("model") or "this run"


def _avg_label(avg: dict | None) -> str:
    if avg is None:
        return "Avg"
    return "Avg" if avg["count"] == avg["of"] else f"Avg ({avg['count']} of {avg['of']})"


def _paper_grader(results: dict) -> str | None:
    for b in results["benchmarks"].values():
        if b.get("published"):
            return b["published"]["grader"]
    return None


def _as_grader_name(label: str) -> str:
    """An output label in the graders' vocabulary: "justrl" -> "justrl-rule", "justrl+judge" ->
    "justrl-rule+judge" (the comparison's names)."""
    return "justrl-rule" + label[len("justrl"):] if label.startswith("justrl") else label


def _main_table(results: dict) -> list[str]:
    cols = _columns(results)
    benches, avg = results["benchmarks"], results.get("average")
    label = results["grading"].get("label", results["grading"]["mode"])
    known = [c for c in cols if benches[c]["known"]]
    lines = ["| Model | " + " | ".join(_header(results, c) for c in cols) + f" | {_avg_label(avg)} |",
             "| --- |" + " --- |" * (len(cols) + 1)]
    ours = [_ci_cell(benches[c]["avg_at_n"], benches[c]["ci95"]) for c in cols]
    avg_cell = "—" if avg is None else _ci_cell(avg["avg_at_n"], avg["ci95"])
    lines.append(f"| {model_label(results)} (ours, {label}) | " + " | ".join(ours) + f" | {avg_cell} |")
    source = results.get("published_source")
    if source and known:
        paper = _paper_grader(results)
        if paper and paper != _as_grader_name(label):
            cells = [_ci_cell(benches[c]["published"]["our_avg_at_n"], benches[c]["published"]["our_ci95"])
                     if benches[c].get("published") else "—" for c in cols]
            pavg = (avg or {}).get("published")
            lines.append(f"| {model_label(results)} (ours, {paper}) | " + " | ".join(cells)
                         + f" | {_f(pavg['our_avg_at_n']) if pavg else '—'} |")
        cells = [_f(source["avg_at_n"].get(benches[c]["benchmark"])) if benches[c]["known"] else "—" for c in cols]
        full = avg is not None and avg["count"] == avg["of"]
        lines.append(f"| {source['model']} (published) | " + " | ".join(cells)
                     + f" | {_f(source['average']) if full else '—'} |")
        diffs = [_diff_cell(benches[c].get("published")) for c in cols]
        lines.append(f"| difference ({paper or 'n/a'}) [95% CI] | " + " | ".join(diffs) +
                     f" | {_diff_cell(avg.get('published') if avg else None)} |")
    return lines


def _detail_table(results: dict) -> list[str]:
    lines = ["| Benchmark | problems | N | avg@N | 95% CI | pass@k | maj@N | best-of-N | solve none / all "
             "| format errors | truncated | tokens mean (correct / incorrect) | distinct-4 |",
             "| --- |" + " --- |" * 12]
    for name, b in results["benchmarks"].items():
        passk = ", ".join(f"@{k} {_f(v, 1)}" for k, v in b["pass_at_k"].items())
        maj = b["maj_at_k"].get(str(b["n_min"]))
        tok = b["response_tokens"]
        tokens = "—" if tok is None else (f"{_f(tok['all']['mean'], 0)} ({_f((tok['correct'] or {}).get('mean'), 0)} "
                                          f"/ {_f((tok['incorrect'] or {}).get('mean'), 0)})")
        problems = f"{b['problems']}" + (f"/{b['expected_problems']}" if b["expected_problems"] else "")
        n = str(b["n"]) if b["n"] == b["n_min"] else f"{b['n_min']}–{b['n']}"
        lines.append(f"| {name} | {problems} | {n} | {_f(b['avg_at_n'])} | {_f(b['ci95'][0])} – {_f(b['ci95'][1])} "
                     f"| {passk} | {_f(maj)} | {_f(b['best_of_n'])} | {b['solve_none']} / {b['solve_all']} "
                     f"| {b['format_errors']} ({_pct_cell(b['format_error_rate'])}) | {_pct_cell(b['truncation_rate'])} "
                     f"| {tokens} | {_f(b['distinct_4gram'], 3)} |")
    return lines


def _grader_table(results: dict) -> list[str]:
    """avg@N of every sample under each grader, and how many samples they disagree on."""
    names = list(next(iter(results["benchmarks"].values()))["graders"])
    lines = ["| Benchmark | " + " | ".join(names) + " | samples | graders disagree | strict rejects, lenient "
             "accepts |", "| --- |" + " --- |" * (len(names) + 3)]
    for key, b in results["benchmarks"].items():
        cells = [_f((b["graders"].get(n) or {}).get("avg_at_n")) for n in names]
        d = b["disagreements"]
        other = d["strict_rejects_lenient_accepts"]
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {b['samples']} | {d['any']} | "
                     + ("—" if other is None else str(other)) + " |")
    return lines


def _layer_table(results: dict) -> list[str]:
    lines = ["| Benchmark | rule-only | judge-added | final | judge asked | unparsed replies |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, b in results["benchmarks"].items():
        layer = b["layers"]
        lines.append(f"| {name} | {_f(layer['rule']['avg_at_n'])} | {layer['judge_added']['avg_at_n']:+.2f} "
                     f"| {_f(layer['final']['avg_at_n'])} | {layer['judge_added']['asked']} "
                     f"| {layer['judge_added']['unparsed']} |")
    return lines


def _notes(results: dict) -> list[str]:
    notes = []
    for name, b in results["benchmarks"].items():
        if b["dataset"]["matches_pinned"] is False:
            notes.append(f"- {name}: the data file differs from the pinned JustRL file "
                         f"(sha256 {b['dataset']['sha256'][:12]}...).")
        if b.get("missing_samples"):
            notes.append(f"- {name}: {b['missing_samples']} of {b['planned_samples']} planned samples are missing "
                         f"(rerun the same command to resume).")
        if b["duplicates_dropped"] or b["skipped_lines"]:
            notes.append(f"- {name}: {b['duplicates_dropped']} duplicate rows dropped, "
                         f"{b['skipped_lines']} unreadable lines skipped.")
        if b.get("stray_rows") or b.get("out_of_plan_rows"):
            notes.append(f"- {name}: {b.get('stray_rows', 0)} stray rows (not samples) and "
                         f"{b.get('out_of_plan_rows', 0)} rows outside the run's plan left out of the scores.")
        if not b["known"]:
            notes.append(f"- {name}: not one of the nine JustRL benchmarks; left out of the average.")
    avg = results.get("average")
    if avg and avg.get("note"):
        notes.append(f"- Average: {avg['note']}.")
    for name, why in (results["grading"].get("graders_unavailable") or {}).items():
        notes.append(f"- Grader {name} did not run: {why}.")
    if results.get("kept_foreign_files"):
        notes.append(f"- Kept (not written by justrl grading): {', '.join(results['kept_foreign_files'])}.")
    foreign = results.get("foreign_grading_results")
    if foreign:
        notes.append("- The kept grading_results.json (JustRL's own grading, its judge included) says avg@N: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in foreign.items()) + ".")
    if results.get("ignored_files"):
        notes.append(f"- Ignored (not run stores): {', '.join(results['ignored_files'])}.")
    return notes


PROVENANCE_SKIP = ("plan", "merged_from")  # long lists; results.json keeps them


def _shorten(value, limit: int = 400):
    """Long strings (e.g. the first rendered prompt) cut to ``limit`` characters for the report."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... [{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    return value


def render_report(results: dict) -> str:
    """report.md: the JustRL README table (benchmarks that ran as columns) with our avg@N and its 95%
    interval, the published row for the same model and the difference under the paper's grader; then
    the grader comparison, details and notes."""
    grading = results["grading"]
    judge = grading.get("judge")
    prov = results.get("provenance") or {}
    label = grading.get("label", grading["mode"])
    head = [
        "# Evaluation report", "",
        f"Model: `{results.get('model') or 'unknown'}` · grading: {label} "
        f"({grading['verifier']} {grading['verifier_version']})"
        + (f" + LLM judge `{judge.get('model') or 'judge'}` ({judge.get('protocol')} protocol)" if judge else "")
        + ".", "",
        "## avg@N (%)", "",
    ]
    body = _main_table(results)
    body += ["", f"Ours: avg@N under the {label} grader with its 95% interval ({grading['interval']})."]
    if results.get("published_source") and _paper_grader(results):
        body += [f"Published: {results['published_source']['source']}. The difference uses our score under "
                 f"{_paper_grader(results)} (the paper's grader, as far as it ran here); its interval treats the "
                 "published number as exact."]
    if any(not b["complete"] for b in results["benchmarks"].values()):
        body += ["", PARTIAL_NOTE]
    cmps = [b.get("published") for b in results["benchmarks"].values()
            if b.get("published") and results.get("published_source")]
    if any(not c.get("like_for_like") for c in cmps):
        body += ["", GRADER_NOTE]
    body += ["", "## Graders compared (avg@N, %)", ""] + _grader_table(results)
    body += ["", "Every sample graded by each grader: lenient (a careful human grader), strict (the DAPO "
             "training reward), justrl-rule (the JustRL paper's rule grader)" + (", and the primary rule with "
             "the judge" if judge else "") + ". 'graders disagree': samples on which they do not all agree."]
    body += ["", "## Details", ""] + _detail_table(results)
    body += ["", "pass@k: unbiased estimator (Chen et al. 2021). maj@N: majority vote over extracted answers. "
             "Format errors: samples without a final answer. Truncated: finish_reason \"length\" (— when the "
             "run store does not record it)."]
    if judge:
        body += ["", "## Grading layers (avg@N, %)", ""] + _layer_table(results)
    notes = _notes(results)
    if notes:
        body += ["", "## Notes", ""] + notes
    if prov:
        keep = {k: _shorten(v) for k, v in prov.items() if k not in PROVENANCE_SKIP}
        body += ["", "## Provenance (from run.json; complete in results.json)", "", "```json",
                 json.dumps(keep, indent=2, ensure_ascii=False), "```"]
    return "\n".join(head + body) + "\n"


def print_summary(results: dict, console=None) -> None:
    """The final table in the terminal: one row per benchmark plus the average (accuracies in %)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    label = results["grading"].get("label", results["grading"]["mode"])
    paper = _paper_grader(results)
    title = f"{model_label(results)} · {label} grading" + (f" · Δ = ours under {paper} − published" if paper else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column("benchmark", no_wrap=True)
    for col in ("P×N", "avg@N", "95% CI", "pass@N", "maj@N", "publ.", "Δ", "no ans", "trunc"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, b in results["benchmarks"].items():
        cmp = b.get("published")
        table.add_row(name, f"{b['problems']}×{b['n']}", _f(b["avg_at_n"]), f"{_f(b['ci95'][0], 1)}–{_f(b['ci95'][1], 1)}",
                      _f(b["best_of_n"]), _f(b["maj_at_k"].get(str(b["n_min"]))),
                      _f(cmp["avg_at_n"]) if cmp else "—",
                      (f"{cmp['diff']:+.2f}" + _marks(cmp)) if cmp else "—",
                      _pct_cell(b["format_error_rate"]), _pct_cell(b["truncation_rate"]))
    avg = results.get("average")
    if avg and avg.get("avg_at_n") is not None:
        cmp = avg.get("published")
        table.add_row(f"avg ({avg['count']} of {avg['of']})", "", _f(avg["avg_at_n"]),
                      f"{_f(avg['ci95'][0], 1)}–{_f(avg['ci95'][1], 1)}", "", "",
                      _f(cmp["avg_at_n"]) if cmp else "—",
                      (f"{cmp['diff']:+.2f}" + _marks(cmp)) if cmp else "—", "", "", style="bold")
    console.print(table)
    if any(not b["complete"] for b in results["benchmarks"].values()):
        console.print(PARTIAL_NOTE)
    if any(b.get("published") and not b["published"].get("like_for_like") for b in results["benchmarks"].values()):
        console.print(GRADER_NOTE)
