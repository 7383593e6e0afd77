"""``justrl-verify``: check answers from the shell.

    justrl-verify answer.txt --gold 42 [--mode strict|lenient] [--question TEXT] [--json]
    echo '... \\boxed{42}' | justrl-verify - --gold 42
    justrl-verify --jsonl records.jsonl [--output verdicts.jsonl] [--workers N] [--skip-bad] [--gold G]

Exit codes: 0 correct (for --jsonl: every line processed), 1 incorrect, 2 bad input (one line on
stderr saying what is wrong; for --jsonl, verdicts already written are kept). Imports no torch,
transformers or vllm, and no sympy unless an answer needs it.

``--jsonl`` writes exactly one JSON line per input line, in order (output line i is input line i):

- a record ``{"response", "gold"[, "mode", "question", "id"]}`` gives its verdict
  (``correct``, ``extracted``, ``reason``, ``mode``, and ``id`` copied from the record when present);
  ``gold`` may be a string or a number, and defaults to ``--gold``; ``mode`` is case-insensitive and
  defaults to ``--mode``;
- a blank line gives ``{"correct": false, "extracted": null, "reason": "blank_line", "mode": ...,
  "line": N}`` and never stops the run;
- a malformed line (not UTF-8, not JSON, not an object, a missing or mistyped field, an unknown
  mode, a lone surrogate) stops the run with exit 2 and one line naming its line number, after the
  verdicts of the lines before it were written; with ``--skip-bad`` it gives ``{"correct": false,
  "extracted": null, "reason": "bad_record", "mode": ..., "line": N, "error": "..."}`` instead and
  the run goes on (a count of such lines goes to stderr; exit 0).

A UTF-8 byte-order mark at the start of the input is ignored. ``--output`` is refused when it is the
input file (compared by device and inode, so also through symlinks and hard links), a symlink, or a
file with other hard links; it is checked before anything is opened for writing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from justrl.verify.verdict import MODES

EXIT_CORRECT, EXIT_INCORRECT, EXIT_BAD_INPUT = 0, 1, 2
BOM = b"\xef\xbb\xbf"
# Reasons of lines that are not verdicts of the verifier (see the module docstring).
RECORD_REASONS = {
    "blank_line": "the input line is blank: no record, nothing was verified",
    "bad_record": "the input line is not a valid record (--skip-bad); 'error' says why",
}


class CliError(Exception):
    """A problem with the user's input; printed as one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="justrl-verify",
        description="Check a model response against a gold answer (exit 0 correct, 1 incorrect, 2 bad input).")
    parser.add_argument("file", nargs="?", help="file holding the response, or - for stdin")
    parser.add_argument("--gold", help="the gold answer, e.g. 42 or '\\frac{1}{2}' (with --jsonl: the default "
                                       "for records without a \"gold\")")
    parser.add_argument("--mode", default="lenient",
                        help="lenient (a careful grader; default) or strict (the DAPO training reward); any case")
    parser.add_argument("--question", help="the problem statement (lenient: enables checks of its explicit form "
                                           "demands, e.g. 'simplify'; strict ignores it)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON instead of one word")
    parser.add_argument("--jsonl", metavar="FILE",
                        help='verify many {"response", "gold"[, "mode", "question", "id"]} records from FILE '
                             "or - (stdin); one verdict line per input line")
    parser.add_argument("--output", metavar="FILE", help="with --jsonl: write verdicts here instead of stdout")
    parser.add_argument("--skip-bad", action="store_true",
                        help="with --jsonl: a malformed line becomes a bad_record verdict line instead of "
                             "stopping the run")
    parser.add_argument("--workers", type=int, default=None, help="with --jsonl: worker processes (default: cores)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per lenient check (default 5)")
    return parser


def _read_text(path: str) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise _unreadable(path, exc, "response file", "a file holding the response") from None
    if data.startswith(BOM):
        data = data[len(BOM):]
    return data.decode("utf-8", errors="replace")


def _check_mode(mode: str, where: str = "--mode") -> str:
    name = mode.strip().lower() if isinstance(mode, str) else mode
    if name not in MODES:
        raise CliError(f"{where} {mode!r} is not a verification mode; use one of: {', '.join(MODES)}")
    return name


def _single(args: argparse.Namespace) -> int:
    from justrl.verify.api import DEFAULT_TIMEOUT, verify

    if args.file is None:
        raise CliError("no response given; pass a FILE (or - for stdin) with --gold, or use --jsonl FILE")
    if args.gold is None or not args.gold.strip():
        raise CliError("the gold answer is empty; pass it with --gold, e.g. --gold 42")
    mode = _check_mode(args.mode)
    response = _read_text(args.file)
    verdict = verify(response, args.gold, mode, timeout=args.timeout or DEFAULT_TIMEOUT, question=args.question)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        print("correct" if verdict.correct else f"incorrect ({verdict.reason})")
    return EXIT_CORRECT if verdict.correct else EXIT_INCORRECT


# -- records ------------------------------------------------------------------------------------------

@dataclass
class _Item:
    """One input line: a record to verify, or a finished output line (blank or bad)."""

    line: int
    mode: str
    response: str = ""
    gold: str = ""
    question: str | None = None
    extra: dict = field(default_factory=dict)  # fields copied into the output (the id)
    output: dict | None = None  # set for lines that need no verification


class _BadRecord(Exception):
    pass


def _has_lone_surrogate(value: object, depth: int = 0) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if depth > 50:
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k, depth + 1) or _has_lone_surrogate(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v, depth + 1) for v in value)
    return False


def _parse_record(raw: bytes, number: int, default_mode: str, default_gold: str | None) -> _Item:
    """The item of one non-blank line; _BadRecord (with the message, and the id when readable) otherwise."""
    from justrl.verify.api import canonical_gold

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadRecord(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", {}) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadRecord(f"not valid JSON ({exc.msg})", {}) from None
    except ValueError as exc:  # e.g. an integer literal past Python's 4,300-digit conversion limit
        raise _BadRecord(f"not valid JSON ({str(exc).split(';')[0]})", {}) from None
    except RecursionError:
        raise _BadRecord("not valid JSON (nested too deeply)", {}) from None
    if not isinstance(record, dict):
        raise _BadRecord('expected a JSON object with "response" and "gold"', {})
    extra = {"id": record["id"]} if "id" in record else {}
    if _has_lone_surrogate(record):
        raise _BadRecord("holds a lone surrogate escape (e.g. \\ud800), which is not valid Unicode", {})
    response = record.get("response")
    gold = record.get("gold")
    if gold is None:
        gold = default_gold
    if not isinstance(response, str):
        raise _BadRecord('field "response" missing or not a string', extra)
    if gold is None:
        raise _BadRecord('field "gold" missing (pass --gold for a default)', extra)
    try:
        gold = canonical_gold(gold)
    except (TypeError, ValueError):
        raise _BadRecord(f'field "gold" must be a string or a finite number, got {json.dumps(gold)}', extra) from None
    if not gold.strip():
        raise _BadRecord('field "gold" is empty', extra)
    mode = record.get("mode", default_mode)
    name = mode.strip().lower() if isinstance(mode, str) else None
    if name not in MODES:
        raise _BadRecord(f"mode {mode!r} is not one of {', '.join(MODES)}", extra)
    question = record.get("question")
    if question is not None and not isinstance(question, str):
        raise _BadRecord('field "question" must be a string or null', extra)
    return _Item(number, name, response, gold, question, extra)


def _items(stream: BinaryIO, default_mode: str, default_gold: str | None, skip_bad: bool,
           fatal: list[str]) -> Iterator[_Item]:
    """One item per input line; a malformed line without ``skip_bad`` ends the items (noted in ``fatal``)."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if not raw.strip():
            yield _Item(number, default_mode, output={"correct": False, "extracted": None, "reason": "blank_line",
                                                      "mode": default_mode, "line": number})
            continue
        try:
            yield _parse_record(raw, number, default_mode, default_gold)
        except _BadRecord as exc:
            message, extra = exc.args
            if not skip_bad:
                fatal.append(f"line {number}: {message}")
                return
            yield _Item(number, default_mode, output={**extra, "correct": False, "extracted": None,
                                                      "reason": "bad_record", "mode": default_mode,
                                                      "line": number, "error": message})


def _verdicts(items: Iterator[_Item], workers: int | None, timeout: float) -> Iterator[dict]:
    """Output lines in input order: strict and fixed lines at once, lenient ones through one
    ``iter_verify`` stream (so slow lenient checks run in parallel with the rest of the input)."""
    from justrl.verify.api import iter_verify
    from justrl.verify.strict import strict_verify

    pending: deque[dict | _Item] = deque()  # finished lines, or lenient items awaiting their verdict

    def lenient_pairs() -> Iterator[tuple[str, str, str | None]]:
        for item in items:
            if item.output is not None:
                pending.append(item.output)
            elif item.mode == "strict":
                pending.append({**item.extra, **strict_verify(item.response, item.gold).to_dict()})
            else:
                pending.append(item)
                yield item.response, item.gold, item.question

    def ready() -> Iterator[dict]:
        while pending and isinstance(pending[0], dict):
            yield pending.popleft()

    for verdict in iter_verify(lenient_pairs(), "lenient", workers, timeout):
        yield from ready()
        item = pending.popleft()
        yield {**item.extra, **verdict.to_dict()}
        yield from ready()
    yield from ready()


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _open_output(path: str, source: os.stat_result | None) -> TextIO:
    """Open ``path`` for the verdicts after refusing the input itself, symlinks and hard-linked files."""
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror}") from None
    if existing is not None:
        if stat.S_ISLNK(existing.st_mode):
            raise CliError(f"--output {path!r} is a symlink; refusing to write through it (pass a plain path)")
        if stat.S_ISDIR(existing.st_mode):
            raise CliError(f"--output {path!r} is a directory; pass a file path")
        if source is not None and _same_file(existing, source):
            raise CliError(f"--output {path!r} is the input file; write the verdicts to another file")
        if stat.S_ISREG(existing.st_mode) and existing.st_nlink > 1:
            raise CliError(f"--output {path!r} has other hard links; refusing to overwrite it (pass a new path)")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror}") from None
    return os.fdopen(fd, "w", encoding="utf-8")


def _source_stat(handle) -> os.stat_result | None:
    try:
        return os.fstat(handle.fileno())
    except (OSError, AttributeError, ValueError):
        return None


def _unreadable(path: str, exc: OSError, what: str, expected: str) -> CliError:
    """The one-line error for an input that cannot be opened (``what``: its role; ``expected``: what to pass)."""
    if isinstance(exc, FileNotFoundError):
        return CliError(f"{what} {path!r} not found; pass {expected} or - for stdin")
    if isinstance(exc, IsADirectoryError):
        return CliError(f"{path!r} is a directory; pass {expected} or - for stdin")
    return CliError(f"cannot read {path!r}: {exc.strerror}")


def _open_source(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer if hasattr(sys.stdin, "buffer") else _TextAsBytes(sys.stdin)
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, exc, "records file", "a JSONL file") from None


class _TextAsBytes:
    """Lines of a text stream as UTF-8 bytes (for a replaced ``sys.stdin`` without ``.buffer``)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            yield line.encode("utf-8", errors="surrogatepass")

    def fileno(self) -> int:
        return self.stream.fileno()


def _batch(args: argparse.Namespace) -> int:
    from justrl.verify.api import DEFAULT_TIMEOUT

    default_mode = _check_mode(args.mode)
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if args.gold is not None and not args.gold.strip():
        raise CliError("--gold is empty; pass a default gold answer, e.g. --gold 42, or leave it out")
    if args.question is not None:
        raise CliError('--question applies to a single answer; give each record a "question" field instead')
    source = _open_source(args.jsonl)
    to_stdout = args.output in (None, "-")
    try:
        source_stat = _source_stat(source)
        if to_stdout:
            stdout_stat = _source_stat(sys.stdout)
            if source_stat is not None and stdout_stat is not None and stat.S_ISREG(stdout_stat.st_mode) \
                    and _same_file(source_stat, stdout_stat):
                raise CliError("standard output is the input file; write the verdicts to another file")
            target = sys.stdout
        else:
            target = _open_output(args.output, source_stat)
    except BaseException:
        if args.jsonl != "-":
            source.close()
        raise
    total = _count_lines(source) if args.jsonl != "-" else None
    fatal: list[str] = []
    bad = written = 0
    try:
        with _progress(total) as advance:
            items = _items(source, default_mode, args.gold, args.skip_bad, fatal)
            for verdict in _verdicts(items, args.workers, args.timeout or DEFAULT_TIMEOUT):
                try:
                    target.write(json.dumps(verdict, ensure_ascii=False) + "\n")
                    target.flush()
                except BrokenPipeError:
                    raise
                except OSError as exc:
                    raise CliError(f"cannot write the verdicts to {args.output or 'stdout'}: {exc.strerror}; "
                                   f"{written} verdict line(s) were written before it") from None
                written += 1
                bad += verdict.get("reason") == "bad_record"
                advance()
    finally:
        if target is not sys.stdout:
            try:
                target.close()
            except OSError:
                pass
        if args.jsonl != "-":
            source.close()
    if fatal:
        raise CliError(f"{args.jsonl}: {fatal[0]}; the verdicts of the lines before it were written "
                       "(pass --skip-bad to write bad lines as bad_record verdicts and go on)")
    if bad:
        print(f"justrl-verify: {bad} malformed line(s) written as bad_record verdicts", file=sys.stderr)
    return EXIT_CORRECT


def _count_lines(source: BinaryIO) -> int | None:
    try:
        count = sum(1 for _ in source)
        source.seek(0)
    except (OSError, ValueError):
        return None
    return count


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
                            console=Console(file=sys.stderr), transient=True)
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
        if args.timeout is not None and not (0 < args.timeout < math.inf):
            raise CliError(f"--timeout must be a positive, finite number of seconds, got {args.timeout}")
        if args.jsonl is not None:
            if args.file is not None:
                raise CliError("pass either a response FILE with --gold or --jsonl FILE, not both")
            return _batch(args)
        if args.output is not None:
            raise CliError("--output applies to --jsonl only")
        if args.skip_bad:
            raise CliError("--skip-bad applies to --jsonl only")
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
