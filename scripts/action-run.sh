#!/usr/bin/env bash
# The GitHub Action's steps (action.yml), kept in a script so that a test can run them as the Action does.
#   action-run.sh install   pip install cnsec (CNSEC_VERSION from PyPI, else the action's own source)
#   action-run.sh run       one cnsec command with a SARIF report; prints exit-code=N to $GITHUB_OUTPUT
# Inputs arrive in environment variables (CNSEC_COMMAND, CNSEC_PATH, CNSEC_FAIL_ON, CNSEC_ARGS,
# CNSEC_SARIF), never spliced into the script text.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  install)
    if [ -n "${CNSEC_VERSION:-}" ]; then
      python -m pip install --quiet "cnsec==${CNSEC_VERSION}"
    else
      python -m pip install --quiet "$here"
    fi
    ;;
  run)
    command="${CNSEC_COMMAND:-assess}"
    path="${CNSEC_PATH:-.}"
    fail_on="${CNSEC_FAIL_ON:-high}"
    sarif="${CNSEC_SARIF:-cnsec.sarif}"
    read -r -a extra <<< "${CNSEC_ARGS:-}"
    case "$command" in
      assess)    argv=(assess "$path") ;;
      scan)      argv=(data scan "$path") ;;
      iam-audit) argv=(iam audit "$path") ;;
      *) echo "cnsec action: unknown command '$command' (assess, scan or iam-audit)" >&2; exit 2 ;;
    esac
    case "$fail_on" in
      critical|high|medium|low|info|none) ;;
      *) echo "cnsec action: fail-on must be critical, high, medium, low, info or none" >&2; exit 2 ;;
    esac
    "${CNSEC:-cnsec}" "${argv[@]}" -f sarif -o "$sarif" --fail-on "$fail_on" "${extra[@]}"
    code=$?
    [ -n "${GITHUB_OUTPUT:-}" ] && echo "exit-code=$code" >> "$GITHUB_OUTPUT"
    exit "$code"
    ;;
  *) echo "usage: action-run.sh install|run" >&2; exit 2 ;;
esac
