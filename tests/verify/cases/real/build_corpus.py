"""Rebuild the candidate records of the real-output corpus from the published evaluation logs.

The corpus (``corpus.jsonl`` beside this file) holds real model responses copied verbatim from
public evaluation logs (sources, commits and licenses in ``README.md``). This script shows exactly
how the records were drawn: it reads each source file from a bare git mirror at a pinned commit,
keeps the fields the corpus needs, and samples a fixed number per (model, benchmark) with a fixed
seed. It writes ``candidates.jsonl`` (no labels); ``label_corpus.py`` then adds the labels.

    python tests/verify/cases/real/build_corpus.py --mirrors /work/.mirror

It needs the mirrors (``git clone --bare`` of each repository) and is not run by the tests.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261202

PRIME_COMMIT = "e787b9cefff7c43c40a98a41c2254cddd38ebd09"
PRIME_BASE = "eval/scripts/eval/Qwen25-Math/evaluation/outputs/home/test/test05/whb/"
PRIME_FILE = "test_qwen25-math-cot_-1_seed0_t0.0_s0_e-1.jsonl"
PRIME_MODELS = {
    "Qwen2.5-Math-7B-Instruct": "models/Qwen2.5-Math-7B-Instruct/math_eval/",
    "Llama-3.1-8B-Instruct": "project/eval-cgq-new/o1_results_1205/Meta-Llama-3.1-8B-Instruct/qwen_math/",
    "PRIME-SFT-ablation (Qwen2.5-Math-7B SFT, 'all_abla_numina_oly_orca')": (
        "project/eval-cgq-new/o1_results_1205/all_abla_numina_oly_orca/qwen_math/"
    ),
}
# (model, benchmark) -> how many to draw
PRIME_PLAN = {
    ("Qwen2.5-Math-7B-Instruct", "minerva_math"): 90,
    ("Qwen2.5-Math-7B-Instruct", "olympiadbench"): 80,
    ("Qwen2.5-Math-7B-Instruct", "gaokao2023en"): 80,
    ("Llama-3.1-8B-Instruct", "minerva_math"): 120,
    ("Llama-3.1-8B-Instruct", "olympiadbench"): 100,
    ("Llama-3.1-8B-Instruct", "gaokao2023en"): 100,
    ("PRIME-SFT-ablation (Qwen2.5-Math-7B SFT, 'all_abla_numina_oly_orca')", "minerva_math"): 60,
    ("PRIME-SFT-ablation (Qwen2.5-Math-7B SFT, 'all_abla_numina_oly_orca')", "gaokao2023en"): 60,
}

TORA_COMMIT = "aeb21126d28347f595d87f2822cb92bfe32f00e8"
TORA_FILES = {
    "ToRA-70B (Llama-2)": "src/outputs/llm-agents/tora-70b-v1.0/gsm8k/test_tora_-1_seed0_t0.0_s0_e1319.jsonl",
    "ToRA-Code-34B (CodeLlama)": (
        "src/outputs/llm-agents/tora-code-34b-v1.0/gsm8k/test_tora_-1_seed0_t0.0_s0_e1319.jsonl"
    ),
}
TORA_N = 60

GSM_COMMIT = "2909d34ef28520753df82a2234c357259d254aa8"
GSM_FILE = "grade_school_math/data/example_model_solutions.jsonl"
GSM_MODELS = {
    "6b_finetuning": "GPT-3 6B (finetuned)",
    "6b_verification": "GPT-3 6B (verifier-ranked)",
    "175b_finetuning": "GPT-3 175B (finetuned)",
    "175b_verification": "GPT-3 175B (verifier-ranked)",
}
GSM_N = 50

VISTA_COMMIT = "53d525874bdde205128e6b160b7357a88277d479"
VISTA_FILES = {
    "GPT-4 (2shot CoT, caption+OCR)": ("results/gpt4/output_gpt4_2shot_solution_use_ocr.json", 60),
    "Claude-2 (zero-shot)": ("results/claude/output_claude.json", 50),
    "ChatGPT gpt-3.5 (zero-shot)": ("results/chatgpt/output_chatgpt.json", 40),
    "Bard": ("results/bard/output_bard.json", 40),
    "LLaVA (Llama-2-13B)": ("results/llava/output_llava_llama_2_13b.json", 30),
}


def git_show(mirror: Path, commit: str, path: str) -> str:
    """Return one file of a bare mirror at ``commit`` as text."""
    out = subprocess.run(
        ["git", "--git-dir", str(mirror), "show", f"{commit}:{path}"], check=True, capture_output=True
    )
    return out.stdout.decode("utf-8")


def sample(rows: list, n: int, key: str) -> list:
    """A seeded sample of ``n`` rows; the seed depends on ``key`` so sources do not interact."""
    rng = random.Random(f"{SEED}:{key}")
    return rng.sample(rows, min(n, len(rows)))


def prime(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "PRIME-RL+PRIME" / "repo"
    for (model, bench), n in PRIME_PLAN.items():
        path = PRIME_BASE + PRIME_MODELS[model] + f"{bench}/{PRIME_FILE}"
        rows = [json.loads(line) for line in git_show(repo, PRIME_COMMIT, path).splitlines() if line.strip()]
        for r in sample(rows, n, f"prime:{model}:{bench}"):
            yield {
                "id": f"prime-{model.split()[0].lower()}-{bench}-{r['idx']}",
                "source": f"PRIME-RL/PRIME@{PRIME_COMMIT}:{path}",
                "model": model,
                "benchmark": bench,
                "question": r["question"],
                "response": r["code"][0],
                "gold": str(r["gt"]),
                "published": bool(r["score"][0]),
            }


def tora(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "microsoft+ToRA" / "repo"
    for model, path in TORA_FILES.items():
        rows = [json.loads(line) for line in git_show(repo, TORA_COMMIT, path).splitlines() if line.strip()]
        for r in sample(rows, TORA_N, f"tora:{model}"):
            yield {
                "id": f"tora-{model.split()[0].lower()}-gsm8k-{r['idx']}",
                "source": f"microsoft/ToRA@{TORA_COMMIT}:{path}",
                "model": model,
                "benchmark": "gsm8k",
                "question": r["question"],
                "response": r["code"][0],
                "gold": str(r["gt"]),
                "published": bool(r["score"][0]) if "score" in r else None,
            }


def gsm(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "openai+grade-school-math" / "repo"
    rows = [json.loads(line) for line in git_show(repo, GSM_COMMIT, GSM_FILE).splitlines() if line.strip()]
    for i, r in enumerate(rows):
        r["_idx"] = i
    for key, model in GSM_MODELS.items():
        for r in sample(rows, GSM_N, f"gsm:{key}"):
            gold = r["ground_truth"].rsplit("A:", 1)[1].strip() if "A:" in r["ground_truth"] else ""
            yield {
                "id": f"gsm-{key}-{r['_idx']}",
                "source": f"openai/grade-school-math@{GSM_COMMIT}:{GSM_FILE}",
                "model": model,
                "benchmark": "gsm8k",
                "question": r["question"],
                "response": r[key]["solution"],
                "gold": gold,
                "published": bool(r[key]["is_correct"]),
            }


def vista(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "lupantech+MathVista" / "repo"
    for model, (path, n) in VISTA_FILES.items():
        data = json.loads(git_show(repo, VISTA_COMMIT, path))
        rows = [
            v for v in data.values()
            if v.get("question_type") == "free_form" and isinstance(v.get("response"), str) and v["response"].strip()
        ]
        rows.sort(key=lambda v: int(v["pid"]))
        for r in sample(rows, n, f"vista:{model}"):
            yield {
                "id": f"mathvista-{model.split()[0].lower()}-{r['pid']}",
                "source": f"lupantech/MathVista@{VISTA_COMMIT}:{path}",
                "model": model,
                "benchmark": "mathvista-testmini (free_form)",
                "question": r["query"],
                "response": r["response"],
                "gold": str(r["answer"]),
                "published": bool(r["true_false"]) if "true_false" in r else None,
            }


CS336_COMMIT = "1474a43693c419f2a19f517ae08bde9c1460d731"
CS336_FILES = {
    ("Qwen2.5-Math-1.5B (base, R1-zero prompt)", "math500"): ("outputs/qwen2.5-math-1.5b/math500_hf/results.jsonl", 130),
    ("Qwen2.5-Math-1.5B-Instruct (R1-zero prompt)", "math500"): (
        "outputs/qwen2.5-math-1.5b-inst/math500_hf/results.jsonl", 40),
    ("Qwen2.5-Math-1.5B (base, R1-zero prompt)", "gsm8k"): ("outputs/qwen2.5-math-1.5b/gsm8k_local/results.jsonl", 60),
}


def last_boxed(text: str) -> str:
    """The brace-matched content of the last ``\\boxed{`` in a reference solution ('' if none)."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return ""
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return ""


def cs336(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "donglinkang2021+cs336-assignment5-alignment" / "repo"
    for (model, bench), (path, n) in CS336_FILES.items():
        lines = git_show(repo, CS336_COMMIT, path).splitlines()
        rows = [dict(json.loads(line), _idx=i) for i, line in enumerate(lines) if line.strip()]
        for r in sample(rows, n, f"cs336:{model}:{bench}"):
            ref = r["ground_truth"]
            gold = ref.rsplit("####", 1)[1].strip() if bench == "gsm8k" else last_boxed(ref)
            m = re.search(r"\nUser: (.*)\nAssistant: <think>", r["prompt"], re.S)
            metrics = r["metrics"] if isinstance(r["metrics"], dict) else {}
            if isinstance(r["metrics"], str):  # some files store the dict's repr
                metrics = {"answer_reward": 1.0 if "'answer_reward': 1.0" in r["metrics"] else 0.0}
            yield {
                "id": f"cs336-{model.split()[0].lower()}-{'base' if 'base' in model else 'inst'}-{bench}-{r['_idx']}",
                "source": f"donglinkang2021/cs336-assignment5-alignment@{CS336_COMMIT}:{path}",
                "model": model,
                "benchmark": bench,
                "question": m.group(1) if m else "",
                "response": r["response"],
                "gold": gold,
                "published": metrics.get("answer_reward") == 1.0,
            }


KOJIMA_COMMIT = "179184e6567d90bb90f7eda93b90298af7cc6d7f"
KOJIMA_FILES = {"gsm8k": 80, "multiarith": 40, "aqua": 50}
KOJIMA_MODEL = "GPT-3 text-davinci-002 (zero-shot CoT + answer trigger)"


def kojima_blocks(log: str) -> Iterator[tuple[int, str, str, str, str]]:
    """(index, question, response, pred_mode, GT) for each sample of a zero-shot-CoT log.

    The response is the text after ``A: `` up to the ``pred_before`` line: the model's reasoning
    (capped at 128 tokens by the run) and the appended answer-trigger completion.
    """
    pattern = re.compile(
        r"(\d+)st data\n1_th_sampling\nQ: (.*?)\nA: (.*?)\npred_before :.*?\npred_mode : (.*?)\nGT : (.*?)\n", re.S
    )
    for m in pattern.finditer(log):
        yield int(m.group(1)), m.group(2), m.group(3).rstrip(), m.group(4).strip(), m.group(5).strip()


def kojima(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "kojima-takeshi188+zero_shot_cot" / "repo"
    for bench, n in KOJIMA_FILES.items():
        path = f"log/{bench}_zero_shot_cot.log"
        rows = list(kojima_blocks(git_show(repo, KOJIMA_COMMIT, path)))
        for idx, question, response, pred, gt in sample(rows, n, f"kojima:{bench}"):
            yield {
                "id": f"kojima-gpt3-{bench}-{idx}",
                "source": f"kojima-takeshi188/zero_shot_cot@{KOJIMA_COMMIT}:{path}",
                "model": KOJIMA_MODEL,
                "benchmark": bench,
                "question": question,
                "response": response,
                "gold": gt,
                "published": pred == gt,
            }


THEOREMQA_COMMIT = "1420bfbc12dd49f1469b1b9fadb56e8eeed90799"
THEOREMQA_FILES = {
    "Mistral-7B-v0.1 (base, 5-shot)": ("outputs/Mistral_7B_v0.1_5shots_mistral.jsonl", 70),
    "InternLM2-20B (base, 5-shot)": ("outputs/internlm2_20b_5shots_short.jsonl", 60),
}


def theoremqa(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "TIGER-AI-Lab+TheoremQA" / "repo"
    for model, (path, n) in THEOREMQA_FILES.items():
        lines = git_show(repo, THEOREMQA_COMMIT, path).splitlines()
        rows = [dict(json.loads(line), _idx=i) for i, line in enumerate(lines) if line.strip()]
        for r in sample(rows, n, f"theoremqa:{model}"):
            # ``correct`` is [gold text, gold value], stored as a list or as its repr; the text is kept.
            correct = r["correct"] if isinstance(r["correct"], list) else ast.literal_eval(r["correct"])
            gold = correct[0]
            yield {
                "id": f"theoremqa-{model.split()[0].lower()}-{r['_idx']}",
                "source": f"TIGER-AI-Lab/TheoremQA@{THEOREMQA_COMMIT}:{path}",
                "model": model,
                "benchmark": "theoremqa",
                "question": r["question"],
                "response": r["solution"],
                "gold": str(gold),
                "published": None,
            }


SKY_BASE = "skythought/Qwen2.5-Math/evaluation/outputs/"
# (model, benchmark) -> (commit, path under SKY_BASE, count); Qwen2.5-Math harness logs, greedy
SKY_PLAN = {
    ("gemma-2-27b-it", "math500"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "google/gemma-2-27b-it/math500_eval/math500/" + PRIME_FILE, 50),
    ("gemma-2-27b-it", "aime24"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "google/gemma-2-27b-it/aime24_eval/aime24/" + PRIME_FILE, 20),
    ("gemma-2-27b-it", "amc23"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "google/gemma-2-27b-it/amc23_eval/amc23/" + PRIME_FILE, 30),
    ("Qwen2.5-14B-Instruct", "math500"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "Qwen/Qwen2.5-14B-Instruct/math500_eval/math500/" + PRIME_FILE, 40),
    ("Llama-3.1-8B (base)", "aime24"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "meta-llama/Llama-3.1-8B/aime24_eval/aime24/" + PRIME_FILE, 15),
    ("Llama-3.1-8B (base)", "amc23"): (
        "f7bcf0b4e7d429e798a39524acd4a68031c905ba", "meta-llama/Llama-3.1-8B/amc23_eval/amc23/" + PRIME_FILE, 15),
    ("Sky-T1-32B (QwQ-distilled long CoT, 'math-correct-5K-32B-short')", "math500"): (
        "dff54f122054a124670c9f85456765b0fc539ac6",
        "icml_models/Sky-T1-math-correct-5K-32B-short-ckpts/math500_eval/math500/test_Sky-T1_-1_seed0_t0.0_s0_e-1.jsonl",
        40,
    ),
}


def skythought(mirrors: Path) -> Iterator[dict]:
    repo = mirrors / "NovaSky-AI+SkyThought" / "repo"
    for (model, bench), (commit, sub, n) in SKY_PLAN.items():
        path = SKY_BASE + sub
        rows = [json.loads(line) for line in git_show(repo, commit, path).splitlines() if line.strip()]
        rows = [r for r in rows if r["code"][0].strip()]  # Llama-3.1-8B base leaves many responses empty
        for r in sample(rows, n, f"sky:{model}:{bench}"):
            yield {
                "id": f"sky-{model.split()[0].lower()}-{bench}-{r['idx']}",
                "source": f"NovaSky-AI/SkyThought@{commit}:{path}",
                "model": model,
                "benchmark": bench,
                "question": r["question"],
                "response": r["code"][0],
                "gold": str(r["gt"]),
                "published": bool(r["score"][0]),
            }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, required=True, help="folder holding owner+name/repo bare mirrors")
    ap.add_argument("--out", type=Path, default=HERE / "candidates.jsonl")
    args = ap.parse_args()
    records = [
        *prime(args.mirrors), *tora(args.mirrors), *gsm(args.mirrors), *vista(args.mirrors), *cs336(args.mirrors),
        *kojima(args.mirrors), *theoremqa(args.mirrors), *skythought(args.mirrors),
    ]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "duplicate ids"
    with args.out.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} candidates -> {args.out}")


if __name__ == "__main__":
    main()
