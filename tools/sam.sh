#!/usr/bin/env bash
# Run the AWS SAM CLI from its own virtualenv (.venv-sam): its pins clash with the project's.
# Creates the venv on first use, reinstalls only when tools/sam-requirements.txt changed,
# then runs `sam "$@"` from the repository root (where template.yaml and samconfig.toml live).
# Usage: bash tools/sam.sh validate --lint | build | deploy --guided
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${root}/.venv-sam"
reqs="${root}/tools/sam-requirements.txt"
installed="${venv}/installed-requirements.txt"

if [[ ! -x "${venv}/bin/python" ]]; then
  python3 -m venv "${venv}"
fi

# A copy of the pins marks a finished install: cheap to check on every run, and portable
# (no sha256sum on macOS).
if ! cmp -s "${reqs}" "${installed}"; then
  # pip's output goes to a log (it can be chatty); it is shown only when the install fails.
  # --no-deps: the lock already lists every transitive package with its hashes; letting pip resolve
  # again would meet aws-sam-cli's unpinned `boto3-stubs[...]>=` extra, which hash mode refuses.
  if ! "${venv}/bin/python" -m pip install --disable-pip-version-check --no-deps -r "${reqs}" \
    >"${venv}/pip.log" 2>&1; then
    cat "${venv}/pip.log" >&2
    exit 1
  fi
  cp "${reqs}" "${installed}"
fi

# sam build runs pip under python3.12 (the functions' runtime): use pyenv's when PATH has none that works
# (a pyenv shim without that version selected is not one).
if ! python3.12 -c "" >/dev/null 2>&1; then
  for candidate in "${PYENV_ROOT:-${HOME}/.pyenv}"/versions/3.12.*/bin; do
    [[ -x "${candidate}/python3.12" ]] && PATH="${candidate}:${PATH}" && break
  done
  export PATH
fi

# No telemetry from CI or developer machines unless the caller opts in.
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
cd "${root}"
exec "${venv}/bin/sam" "$@"
