"""Evaluation: the JustRL protocol, generation backends, a resumable run store, grading and reports.

    from justrl.evaluate import Protocol, run_eval
    from justrl.evaluate.backends.hf import HFBackend
    run = run_eval(HFBackend.from_model(model, tokenizer), "AIME24,AIME25,AMC23", output_dir="val/step50",
                   protocol=Protocol(max_tokens=1024), progress=False)
    run.results["average"]["avg_at_n"]

Heavy libraries (torch, transformers, vllm) load only inside the backends that need them.
"""

from justrl.evaluate.protocol import JUSTRL_SUFFIX, Protocol, ProtocolError, parse_n
from justrl.evaluate.runner import EvalError, EvalRun, run_eval
from justrl.evaluate.seeds import sample_seed
from justrl.evaluate.store import RunStore, Shard, StoreError, merge_runs

__all__ = ["JUSTRL_SUFFIX", "Protocol", "ProtocolError", "parse_n", "EvalError", "EvalRun", "run_eval",
           "sample_seed", "RunStore", "Shard", "StoreError", "merge_runs"]
