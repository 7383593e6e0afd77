"""``justrl-train``: the JustRL GRPO recipe (native engine), the veRL hand-off, plots and log import.

    justrl-train --preset toy --output-dir runs/toy                  # CPU demo, minutes
    justrl-train --preset justrl-deepseek-1.5b --output-dir runs/ds  # the paper's run (GPUs)
    justrl-train --resume runs/toy                                   # continue from the last checkpoint
    justrl-train --config my.toml --set lr=2e-6 --lr 2e-6 ...         # file + per-key overrides
    justrl-train --engine verl --nnodes 4 --gpus-per-node 8 --output-dir runs/v [--dry-run]
                 [--data-dir BENCHMARKS] [--offline]
    justrl-train plot RUN        justrl-train import-verl ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from justrl.train.config import RecipeConfig, TrainError


def config_keys_help() -> str:
    """Every RecipeConfig key with its default (the JustRL recipe) and meaning, for ``--help``."""
    import json
    from dataclasses import MISSING, fields

    lines = ["config keys (set with --set KEY=VALUE or --KEY VALUE; defaults are the JustRL recipe, "
             "presets change some):"]
    for f in fields(RecipeConfig):
        default = f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default
        meaning = f.metadata.get("help", "")
        lines.append(f"  {f.name} = {json.dumps(default, default=str)}" + (f"\n      {meaning}" if meaning else ""))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="justrl-train", description="Train with the JustRL GRPO recipe. "
                                "Subcommands: `plot RUN`, `import-verl ...`.", epilog=config_keys_help(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", help="justrl-deepseek-1.5b, justrl-nemotron-1.5b or toy")
    p.add_argument("--config", help="TOML or YAML file of config keys")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key (repeatable); `--KEY VALUE` works too")
    p.add_argument("--output-dir", help="run folder (metrics.jsonl, config.json, checkpoints/)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its latest checkpoint with its saved config")
    p.add_argument("--engine", choices=["native", "verl"], help="native (default) or verl (hand-off)")
    p.add_argument("--train-data", help="shorthand for --set train_data=...")
    p.add_argument("--nnodes", type=int, default=1, help="veRL engine: number of nodes")
    p.add_argument("--gpus-per-node", type=int, default=None, help="veRL engine: GPUs per node (default: all)")
    p.add_argument("--dry-run", action="store_true", help="resolve and print the config and the plan (rows, steps, "
                   "memory estimate) without loading a model; with --engine verl: print and save the command")
    p.add_argument("--data-dir", help="validation benchmarks from this folder (JustRL's data/<NAME>/test.parquet "
                   "layout) instead of justrl's cache or the Hub")
    p.add_argument("--offline", action="store_true", help="never download (model, training data, benchmarks); "
                   "sets HF_HUB_OFFLINE=1 for this run and, with --engine verl, for veRL")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in this session (resume later)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard scalars (if installed)")
    p.add_argument("--no-plot", action="store_true", help="do not draw RUN/training.png at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def split_overrides(argv: list[str], known: set[str]) -> tuple[list[str], dict[str, str]]:
    """Pull ``--KEY VALUE`` / ``--KEY=VALUE`` for config fields out of ``argv`` (the rest goes to argparse)."""
    rest, overrides, i = [], {}, 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            key = name.replace("-", "_")
            if key in known and name not in ("config", "engine", "train-data", "train_data"):
                if not eq:
                    if i + 1 >= len(argv):
                        raise TrainError(f"--{name} needs a value")
                    value = argv[i + 1]
                    i += 1
                overrides[key] = value
                i += 1
                continue
        rest.append(arg)
        i += 1
    return rest, overrides


def build_config(args, overrides: dict[str, str]) -> RecipeConfig:
    from justrl.train.presets import parse_override, resolve_config

    values = dict(overrides)
    for item in args.set:
        key, value = parse_override(item)
        values[key] = value
    if args.train_data:
        values["train_data"] = args.train_data
    if args.engine:
        values["engine"] = args.engine
    return resolve_config(args.preset, args.config, values)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "plot":
        from justrl.train.plot import main as plot_main

        return plot_main(argv[1:])
    if argv and argv[0] == "import-verl":
        from justrl.train.verl_import import main as import_main

        return import_main(argv[1:])
    try:
        return _run(argv)
    except TrainError as exc:
        print(f"justrl-train: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("justrl-train: interrupted; continue with --resume RUN", file=sys.stderr)
        return 130


def _run(argv: list[str]) -> int:
    from dataclasses import fields

    known = {f.name for f in fields(RecipeConfig)}
    rest, overrides = split_overrides(argv, known)
    parser = _parser()
    args, unknown = parser.parse_known_args(rest)
    if unknown:
        raise TrainError(f"unknown option {unknown[0]!r}; config keys are set with --set KEY=VALUE "
                         f"(see justrl-train --help)")
    if args.resume:
        from justrl.train.presets import from_dict, load_json_config

        run = Path(args.resume)
        config = from_dict(load_json_config(run))
        if overrides or args.set or args.preset or args.config:
            raise TrainError("--resume takes the run's saved config; do not combine it with other settings")
    else:
        config = build_config(args, overrides)
        if args.dry_run and config.engine != "verl":
            return _dry_run(config)
        if not args.output_dir:
            raise TrainError("--output-dir RUN is required (where metrics and checkpoints go)")
        run = Path(args.output_dir)
    if args.offline:
        import os

        os.environ["HF_HUB_OFFLINE"] = "1"
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None and not data_dir.is_dir():
        raise TrainError(f"--data-dir {data_dir} is not a folder")
    if config.engine == "verl":
        from justrl.train.verl import launch

        gpus = args.gpus_per_node if args.gpus_per_node is not None else _gpu_count()
        return launch(config, run, nnodes=args.nnodes, gpus_per_node=gpus, dry_run=args.dry_run, data_dir=data_dir,
                      offline=True if args.offline else None)
    if (run / "checkpoints" / "latest").exists() and not args.resume:
        raise TrainError(f"{run} already holds a run; continue it with --resume {run} or pick another --output-dir")
    try:
        import torch  # noqa: F401 -- the loop imports it lazily; check here for a one-line error
        import transformers  # noqa: F401

        from justrl.train.dist import init_world
        from justrl.train.loop import train
    except ImportError as exc:
        raise TrainError(f"training needs torch and transformers ({exc}); install them with "
                         f"pip install 'justrl[train]'") from None

    world = init_world()
    train(config, run, resume=bool(args.resume), world=world, progress=not args.quiet,
          tensorboard=args.tensorboard, max_steps=args.max_steps, data_dir=data_dir)
    if world.main and not args.no_plot:
        _plot(run)
    return 0


def _dry_run(config: RecipeConfig) -> int:
    """Print the resolved config and the run's plan; load no model, write nothing."""
    import os

    from justrl.train.plan import describe_plan

    world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    print("\n".join(describe_plan(config, world_size=world_size)))
    print("dry run: nothing loaded or written; drop --dry-run to train")
    return 0


def _gpu_count() -> int:
    try:
        import torch

        return max(1, torch.cuda.device_count())
    except ImportError:
        return 1


def _plot(run: Path) -> None:
    """Draw RUN/training.png with T2's plot command when it is available (matplotlib installed)."""
    try:
        from justrl.train.plot import PlotError, plot_run
    except ImportError:
        return
    try:
        print(f"wrote {plot_run(run)}", file=sys.stderr)
    except (PlotError, ImportError) as exc:
        print(f"justrl-train: no plot ({exc})", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
