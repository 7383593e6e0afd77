"""Where grading writes, without ever replacing a file justrl did not write there.

A folder's grading outputs are ``results.json``, ``report.md``, ``grading_results.json`` and ``graded/``
for the folder's default grading (lenient, with or without a judge), and ``results.<label>.json``,
``report.<label>.md``, ``grading_results.<label>.json`` and ``graded.<label>/`` for any other grading
(``strict``, ``justrl``, ``justrl+judge``, ...), so one grading never silently replaces another's.

Every file justrl grading writes is recorded with its sha256 in ``.justrl-grading.json`` (the manifest)
in the output folder. An existing file that the manifest does not list with that same content is
*foreign* (JustRL's own ``grading_results.json`` with its judge-inclusive scores, a report someone
edited, a planted symlink) and is kept: the output goes to the labelled name instead, and when that is
foreign too grading stops with a one-line error asking for ``--output-dir``. Folders graded by justrl
before the manifest existed (a ``results.json`` with justrl's schema, no manifest) count as justrl's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".justrl-grading.json"
RESULTS_SCHEMA_PREFIX = "justrl.results/"
DEFAULT_GRADER = "lenient"


def output_label(grader: str, judged: bool) -> str:
    """``"lenient"``, ``"strict+judge"``, ``"justrl"``, ...: the grading's name in file names."""
    return grader + ("+judge" if judged else "")


def _sha(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


@dataclass
class OutputPlan:
    """The file names one grading writes into ``folder`` and the foreign files it kept."""

    folder: Path
    label: str
    names: dict[str, str] = field(default_factory=dict)  # role -> file or folder name relative to folder
    kept: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # relative name -> sha256

    def path(self, role: str) -> Path:
        return self.folder / self.names[role]

    def graded_file(self, stem: str) -> str:
        return f"{self.names['graded']}/{stem}.jsonl"


class OutputConflict(Exception):
    """Both the default and the labelled name of an output are foreign files."""


def _read_manifest(folder: Path) -> dict[str, str] | None:
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else None


def _legacy_justrl_folder(folder: Path) -> bool:
    """A folder justrl graded before the manifest existed: results.json with justrl's schema."""
    path = folder / "results.json"
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("schema", "")).startswith(RESULTS_SCHEMA_PREFIX)


def _results_label(folder: Path, name: str) -> str | None:
    """The grading label recorded in an existing justrl results file (None when unknown)."""
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    grading = data.get("grading") if isinstance(data, dict) else None
    if not isinstance(grading, dict):
        return None
    label = grading.get("label")
    if label:
        return str(label)
    mode = grading.get("mode")  # results written before labels existed
    return output_label(str(mode), bool(grading.get("judge"))) if mode else None


_ROLES = {"results": ("results", ".json"), "report": ("report", ".md"),
          "grading_results": ("grading_results", ".json"), "graded": ("graded", "")}


def plan_outputs(folder: Path, label: str) -> OutputPlan:
    """Choose the names this grading writes (see the module docstring)."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    legacy = manifest is None and _legacy_justrl_folder(folder)
    manifest = manifest or {}

    def ours(rel: str) -> bool:
        path = folder / rel
        if not path.exists() and not path.is_symlink():
            return True  # free
        if path.is_symlink():
            return False
        if path.is_dir():
            return all(ours(f"{rel}/{child.name}") for child in path.iterdir())
        if legacy:
            return True
        return manifest.get(rel) is not None and manifest.get(rel) == _sha(path)

    plain = label == DEFAULT_GRADER or label == DEFAULT_GRADER + "+judge"
    if plain and (folder / "results.json").is_file() and ours("results.json"):
        previous = _results_label(folder, "results.json")
        plain = previous is None or previous == label  # another grading's default results are kept
    plan = OutputPlan(folder, label)
    for role, (stem, ext) in _ROLES.items():
        default = f"{stem}{ext}"
        labelled = f"{stem}.{label}{ext}"
        first = default if plain else labelled
        if ours(first):
            plan.names[role] = first
            continue
        plan.kept.append(first)
        if first != labelled and ours(labelled):
            plan.names[role] = labelled
            continue
        raise OutputConflict(f"{folder / first} and {folder / labelled} are not files justrl grading wrote; they "
                             f"are kept: pass --output-dir DIR to write the grading results elsewhere")
    return plan


def record(plan: OutputPlan, rel: str) -> None:
    """Note a file just written (its sha256 goes into the manifest)."""
    digest = _sha(plan.folder / rel)
    if digest is not None:
        plan.written[rel] = digest


def write_manifest(plan: OutputPlan) -> None:
    """Merge this grading's files into the folder's manifest (atomically)."""
    from justrl.evaluate.files import atomic_write_json

    files = _read_manifest(plan.folder) or {}
    files.update(plan.written)
    atomic_write_json(plan.folder / MANIFEST, {"schema": "justrl.grading-manifest/1", "files": dict(sorted(files.items()))},
                      durable=False)
