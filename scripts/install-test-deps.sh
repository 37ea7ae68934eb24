#!/usr/bin/env bash
# Debian packages the test suite uses, installed when missing (as root, where apt-get exists):
# PostgreSQL (store tests on both databases), zsh and fish (completion scripts run by the real shells).
# Elsewhere it says what is missing and exits 0: the tests that need a package skip with a reason.
set -uo pipefail
wanted=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || wanted+=(postgresql)
command -v zsh >/dev/null 2>&1 || wanted+=(zsh)
command -v fish >/dev/null 2>&1 || wanted+=(fish)
[ "${#wanted[@]}" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: not installed (needs root and apt-get): ${wanted[*]}; their tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${wanted[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${wanted[@]}" >/dev/null 2>&1; } \
  || echo "install-test-deps: could not install ${wanted[*]}; their tests will skip" >&2
exit 0
