"""``justrl-verify``: check answers from the shell.

    justrl-verify answer.txt --gold 42 [--mode strict|lenient] [--json]
    echo '... \\boxed{42}' | justrl-verify - --gold 42
    justrl-verify --jsonl records.jsonl [--output verdicts.jsonl] [--workers N]

Exit codes: 0 correct (for --jsonl: every record processed), 1 incorrect, 2 bad input (one line on
stderr saying what is wrong). Imports no torch, transformers or vllm, and no sympy unless an answer
needs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from justrl.verify.verdict import MODES

EXIT_CORRECT, EXIT_INCORRECT, EXIT_BAD_INPUT = 0, 1, 2


class CliError(Exception):
    """A problem with the user's input; printed as one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="justrl-verify",
        description="Check a model response against a gold answer (exit 0 correct, 1 incorrect, 2 bad input).")
    parser.add_argument("file", nargs="?", help="file holding the response, or - for stdin")
    parser.add_argument("--gold", help="the gold answer, e.g. 42 or '\\frac{1}{2}'")
    parser.add_argument("--mode", default="lenient",
                        help="lenient (a careful grader; default) or strict (the DAPO training reward)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON instead of one word")
    parser.add_argument("--jsonl", metavar="FILE",
                        help='verify many {"response", "gold"[, "mode"]} records from FILE or - (stdin)')
    parser.add_argument("--output", metavar="FILE", help="with --jsonl: write verdicts here instead of stdout")
    parser.add_argument("--workers", type=int, default=None, help="with --jsonl: worker processes (default: cores)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per lenient check (default 5)")
    return parser


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CliError(f"response file {path!r} not found; pass an existing file or - for stdin") from None
    except IsADirectoryError:
        raise CliError(f"{path!r} is a directory; pass a file holding the response or - for stdin") from None
    except OSError as exc:
        raise CliError(f"cannot read {path!r}: {exc.strerror}") from None


def _check_mode(mode: str, where: str = "--mode") -> str:
    if mode not in MODES:
        raise CliError(f"{where} {mode!r} is not a verification mode; use one of: {', '.join(MODES)}")
    return mode


def _single(args: argparse.Namespace) -> int:
    from justrl.verify.api import DEFAULT_TIMEOUT, verify

    if args.file is None:
        raise CliError("no response given; pass a FILE (or - for stdin) with --gold, or use --jsonl FILE")
    if args.gold is None or not args.gold.strip():
        raise CliError("the gold answer is empty; pass it with --gold, e.g. --gold 42")
    mode = _check_mode(args.mode)
    response = _read_text(args.file)
    verdict = verify(response, args.gold, mode, timeout=args.timeout or DEFAULT_TIMEOUT)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        print("correct" if verdict.correct else f"incorrect ({verdict.reason})")
    return EXIT_CORRECT if verdict.correct else EXIT_INCORRECT


def _records(stream: TextIO, default_mode: str, bad: list[str]) -> Iterator[tuple[str, str, str]]:
    """(response, gold, mode) per non-blank line; stops at the first malformed line, noting it in ``bad``."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(f"line {number}: not valid JSON ({exc.msg})")
            return
        if not isinstance(record, dict):
            bad.append(f"line {number}: expected a JSON object with \"response\" and \"gold\"")
            return
        response, gold = record.get("response"), record.get("gold")
        mode = record.get("mode", default_mode)
        if not isinstance(response, str) or not isinstance(gold, str):
            missing = [k for k in ("response", "gold") if not isinstance(record.get(k), str)]
            bad.append(f"line {number}: field(s) {', '.join(missing)} missing or not a string")
            return
        if mode not in MODES:
            bad.append(f"line {number}: mode {mode!r} is not one of {', '.join(MODES)}")
            return
        yield response, gold, mode


def _verdicts(records: Iterator[tuple[str, str, str]], workers: int | None, timeout: float) -> Iterator[dict]:
    """Verdicts in input order; records run through ``iter_verify`` grouped by consecutive mode."""
    from justrl.verify.api import iter_verify

    def pairs_of(mode: str, first: tuple[str, str], rest: Iterator):
        yield first
        for response, gold, m in rest:
            if m != mode:
                carry.append((response, gold, m))
                return
            yield response, gold

    carry: list[tuple[str, str, str]] = []
    iterator = iter(records)
    while True:
        if carry:
            head = carry.pop()
        else:
            head = next(iterator, None)
            if head is None:
                return
        response, gold, mode = head
        for verdict in iter_verify(pairs_of(mode, (response, gold), iterator), mode, workers, timeout):
            yield verdict.to_dict()


def _batch(args: argparse.Namespace) -> int:
    from justrl.verify.api import DEFAULT_TIMEOUT

    default_mode = _check_mode(args.mode)
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if args.jsonl == "-":
        source = sys.stdin
    else:
        try:
            source = open(args.jsonl, encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"records file {args.jsonl!r} not found; pass an existing JSONL file or - for stdin") \
                from None
        except OSError as exc:
            raise CliError(f"cannot read {args.jsonl!r}: {exc.strerror}") from None
    total = None
    if source is not sys.stdin:
        total = sum(1 for line in source if line.strip())
        source.seek(0)
    try:
        target = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.output!r}: {exc.strerror}") from None
    bad: list[str] = []
    try:
        with _progress(total) as advance:
            for verdict in _verdicts(_records(source, default_mode, bad), args.workers,
                                     args.timeout or DEFAULT_TIMEOUT):
                target.write(json.dumps(verdict, ensure_ascii=False) + "\n")
                target.flush()
                advance()
    finally:
        if target is not sys.stdout:
            target.close()
        if source is not sys.stdin:
            source.close()
    if bad:
        raise CliError(f"{args.jsonl}: {bad[0]}; verdicts before it were written")
    return EXIT_CORRECT


class _progress:
    """A rich progress bar on stderr when stderr is a terminal; otherwise nothing is drawn."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("verify", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``justrl-verify``; returns the exit code (see the module docstring)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its one-line usage error (or --help)
        return EXIT_BAD_INPUT if exc.code else EXIT_CORRECT
    try:
        if args.timeout is not None and not args.timeout > 0:
            raise CliError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        if args.jsonl is not None:
            if args.file is not None:
                raise CliError("pass either a response FILE with --gold or --jsonl FILE, not both")
            return _batch(args)
        if args.output is not None:
            raise CliError("--output applies to --jsonl only")
        return _single(args)
    except CliError as exc:
        print(f"justrl-verify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeError as exc:  # PoolError: the worker processes cannot start (a broken installation)
        from justrl.verify.pool import PoolError

        if not isinstance(exc, PoolError):
            raise
        print(f"justrl-verify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CORRECT
    except KeyboardInterrupt:
        print("justrl-verify: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
