"""Training prompts: DAPO-Math-17k style parquet (veRL schema) or a hub dataset -> TrainRecord.

The veRL schema has ``prompt`` = chat messages (the last user message holds the problem) and
``reward_model.ground_truth`` = the gold answer. DAPO-Math-17k wraps each problem in its own
"Answer:" instruction. Two prompt formats (config key ``prompt_format``):

- ``"justrl"`` (the presets' default): the user message's content exactly as stored, wrapper included;
  the recipe's boxed suffix is appended to it. This is JustRL's ``use_boxed_suffix_prompt``
  (``content + "\n\nPlease reason step by step, and put your final answer within \\boxed{}."``).
- ``"problem"``: the wrapper is stripped first, so the suffix replaces DAPO's own instruction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from justrl.train.config import TrainError

DAPO_PREFIX = ("Solve the following math problem step by step. The last line of your response should be of the "
               "form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n")
DAPO_SUFFIX = '\n\nRemember to put your answer on its own line after "Answer:".'
PROMPT_FORMATS = ("justrl", "problem")


@dataclass(frozen=True)
class TrainRecord:
    """One training problem: the user message content the suffix is appended to (raw for ``prompt_format``
    "justrl", wrapper stripped for "problem"), its gold answer, and provenance (``data_source``, ``index``)."""

    question: str
    gold: str
    meta: dict[str, Any] = field(default_factory=dict)


def strip_dapo_instruction(text: str) -> str:
    """The problem inside DAPO-Math-17k's "Answer:" instruction wrapper (unchanged when not wrapped)."""
    if text.startswith(DAPO_PREFIX):
        text = text[len(DAPO_PREFIX):]
    if text.endswith(DAPO_SUFFIX):
        text = text[: -len(DAPO_SUFFIX)]
    return text.strip()


def build_messages(question: str, suffix: str) -> list[dict]:
    """The chat the policy sees: one user message, problem + suffix (the recipe's boxed instruction)."""
    return [{"role": "user", "content": question + suffix}]


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _question_of(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    messages = [dict(m) for m in list(prompt)]
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise ValueError("no user message")
    return str(users[-1]["content"])


def _check_format(prompt_format: str) -> None:
    if prompt_format not in PROMPT_FORMATS:
        raise TrainError(f"prompt_format must be one of {', '.join(PROMPT_FORMATS)}, got {prompt_format!r}")


def records_from_rows(rows: list[dict], source: str, *, prompt_format: str = "justrl") -> list[TrainRecord]:
    """veRL-schema rows -> TrainRecords; TrainError naming the first bad row."""
    _check_format(prompt_format)
    records = []
    for i, row in enumerate(rows):
        try:
            question = _question_of(row["prompt"])
            if prompt_format == "problem":
                question = strip_dapo_instruction(question)
            reward = row["reward_model"]
            gold = str(reward["ground_truth"]).strip()
        except (KeyError, TypeError, ValueError) as exc:
            raise TrainError(f"{source}: row {i} is not in veRL's schema (prompt messages + reward_model."
                             f"ground_truth): {exc}") from None
        if not gold:
            raise TrainError(f"{source}: row {i} has an empty reward_model.ground_truth")
        extra = row.get("extra_info") or {}
        index = extra.get("index", i) if isinstance(extra, dict) else i
        records.append(TrainRecord(question, gold, {"data_source": row.get("data_source"), "index": index}))
    return records


def load_train_records(source: str, *, offline: bool | None = None,
                       prompt_format: str = "justrl") -> list[TrainRecord]:
    """Load training problems from a local parquet file, ``toy:<task>``, or a hub dataset id (online only).

    Rows keep the file's order (DAPO-Math-17k's published file repeats each problem; see
    :func:`deduplicate`). ``offline`` defaults to the HF_HUB_OFFLINE / HF_DATASETS_OFFLINE environment
    variables. ``prompt_format`` is described in the module docstring.
    """
    _check_format(prompt_format)
    if source.startswith("toy:"):
        from justrl.train.toy import toy_records

        return toy_records(source.removeprefix("toy:"))
    path = Path(source).expanduser()
    if path.suffix == ".parquet" or path.exists():
        if not path.is_file():
            raise TrainError(f"training data {path} not found; pass a parquet file in veRL's schema")
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # noqa: BLE001 -- any unreadable file is the user's to fix
            raise TrainError(f"{path}: not a readable parquet file ({exc})") from None
        return records_from_rows(rows, str(path), prompt_format=prompt_format)
    if offline if offline is not None else _offline():
        raise TrainError(f"training data {source!r} is not a local file and the hub is offline; "
                         f"download it first or pass a local parquet path")
    return _load_hub(source, prompt_format)


def _load_hub(dataset_id: str, prompt_format: str) -> list[TrainRecord]:
    try:
        from huggingface_hub import HfApi, hf_hub_download
    except ImportError:
        raise TrainError("loading a hub dataset needs huggingface_hub (pip install huggingface_hub)") from None
    try:
        files = [f for f in HfApi().list_repo_files(dataset_id, repo_type="dataset") if f.endswith(".parquet")]
        if not files:
            raise TrainError(f"hub dataset {dataset_id!r} has no parquet file; pass a local parquet path")
        import pyarrow.parquet as pq

        rows = []
        for name in sorted(files):
            rows.extend(pq.read_table(hf_hub_download(dataset_id, name, repo_type="dataset")).to_pylist())
    except TrainError:
        raise
    except Exception as exc:  # noqa: BLE001 -- network / not found
        raise TrainError(f"could not fetch hub dataset {dataset_id!r} ({type(exc).__name__}); check the id and "
                         f"your connection, or pass a local parquet path") from None
    return records_from_rows(rows, dataset_id, prompt_format=prompt_format)


def deduplicate(records: list[TrainRecord]) -> list[TrainRecord]:
    """Records with repeated (question, gold) dropped, first kept.

    DAPO-Math-17k's published file has 1.79M rows, each of its ~17.9k problems repeated; JustRL read it
    as-is in one shuffled epoch (config ``deduplicate = false``). Deduplicating and cycling epochs instead
    visits every problem once per epoch: the same problems, sampled differently.
    """
    seen, out = set(), []
    for record in records:
        key = (record.question, record.gold)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


@dataclass(frozen=True)
class Prompt:
    """A tokenised training prompt ready for rollouts."""

    ids: list[int]
    gold: str
    index: int


def tokenize_prompts(records: list[TrainRecord], tokenizer, *, suffix: str, use_chat_template: bool,
                     max_prompt_tokens: int) -> tuple[list[Prompt], int]:
    """Render and tokenise every record; prompts over ``max_prompt_tokens`` are dropped.

    Returns (prompts, number filtered out).
    """
    prompts, dropped = [], 0
    for i, record in enumerate(records):
        messages = build_messages(record.question, suffix)
        if use_chat_template and getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = messages[0]["content"]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > max_prompt_tokens:
            dropped += 1
            continue
        prompts.append(Prompt(list(ids), record.gold, i))
    return prompts, dropped
