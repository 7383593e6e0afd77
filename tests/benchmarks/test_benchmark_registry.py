"""The nine benchmarks as data, and resolving names the way users type them."""

from __future__ import annotations

import pytest

from justrl.benchmarks import BENCHMARKS, JUSTRL_COMMIT, BenchmarkError, resolve_benchmarks

README_TABLE = {  # ../shared/benchmarks/README.md: name -> (problems, samples)
    "AIME24": (30, 32), "AIME25": (30, 32), "AMC23": (40, 32), "MATH-500": (500, 4), "Minerva": (272, 4),
    "Olympiad-Bench": (674, 4), "BRUMO25": (30, 32), "CMIMC25": (40, 32), "HMMT25": (30, 32),
}


def test_registry_is_the_nine_in_the_justrl_readme_column_order():
    assert list(BENCHMARKS) == ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench",
                                "HMMT25", "BRUMO25", "CMIMC25"]


@pytest.mark.parametrize("name", list(README_TABLE))
def test_spec_matches_the_readme_table(name):
    spec = BENCHMARKS[name]
    assert (spec.problems, spec.default_samples) == README_TABLE[name]
    assert spec.slug == name.lower()
    assert spec.url == (f"https://raw.githubusercontent.com/thunlp/JustRL/{JUSTRL_COMMIT}/data/{name}/test.parquet")
    assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
    assert spec.schema == ("matharena" if name in {"BRUMO25", "CMIMC25", "HMMT25"} else "verl")


@pytest.mark.parametrize(("request_", "expected"), [
    ("AIME24,MATH-500", ["AIME24", "MATH-500"]),
    ("aime24 , math-500", ["AIME24", "MATH-500"]),
    ("olympiadbench", ["Olympiad-Bench"]),
    ("MATH500,Math-500", ["MATH-500"]),
    (["hmmt25", "AIME25,amc23"], ["HMMT25", "AIME25", "AMC23"]),
    ("all", list(BENCHMARKS)),
    ("AIME25,all", ["AIME25"] + [n for n in BENCHMARKS if n != "AIME25"]),
], ids=["comma-list", "case-and-spaces", "punctuation-ignored", "duplicates-dropped", "list-of-specs", "all",
        "all-after-a-name-keeps-order"])
def test_resolve_benchmarks(request_, expected):
    assert [s.name for s in resolve_benchmarks(request_)] == expected


@pytest.mark.parametrize(("request_", "message"), [
    ("AIME24,GSM8K", "unknown benchmark 'GSM8K'; choose from AIME24, AIME25, AMC23, MATH-500, Minerva, "
                     "Olympiad-Bench, HMMT25, BRUMO25, CMIMC25 or 'all'"),
    ("", "no benchmark given"),
    (" , ", "no benchmark given"),
], ids=["unknown-name-lists-valid-ones", "empty", "only-separators"])
def test_resolve_benchmarks_errors_are_one_line(request_, message):
    with pytest.raises(BenchmarkError) as info:
        resolve_benchmarks(request_)
    assert message in str(info.value) and "\n" not in str(info.value)
