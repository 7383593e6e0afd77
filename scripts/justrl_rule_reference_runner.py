"""Run JustRL's own rule grader on JSONL cases: stdin -> stdout, adding "reference" and "reference_status".

Runs OUTSIDE justrl's environment, in an interpreter that has sympy and pylatexenc, with JustRL's
``evals/utils.py`` (thunlp/JustRL, commit cf444e9) in the folder given as the first argument; that code
is imported from there, never copied here. Each call has a 30 s SIGALRM timeout ("timeout" status).

    /tmp/refenv/bin/python scripts/justrl_rule_reference_runner.py /tmp/justrl_ref < cases.jsonl
"""

import json
import logging
import signal
import sys


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    import utils  # JustRL's evals/utils.py

    logging.disable(logging.CRITICAL)
    signal.signal(signal.SIGALRM, _alarm)
    for line in sys.stdin:
        case = json.loads(line)
        signal.alarm(30)
        try:
            case["reference"], case["reference_status"] = bool(utils.grade_answer_verl(case["response"],
                                                                                       case["gold"])), "ok"
        except _Timeout:
            case["reference"], case["reference_status"] = None, "timeout"
        except Exception as exc:  # noqa: BLE001
            case["reference"], case["reference_status"] = None, f"error {type(exc).__name__}"
        finally:
            signal.alarm(0)
        print(json.dumps(case, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
