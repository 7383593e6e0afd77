"""justrl: answer verification, evaluation and single-stage GRPO training for math-reasoning LMs."""

__version__ = "0.1.0"
