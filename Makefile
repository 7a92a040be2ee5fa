# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make run    the endpoint on moto (no Docker) with the demo agent
#   make test   lint, types, tests and `sam validate --lint`
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/layers/runtime:$(CURDIR)/devtools
export AWS_DEFAULT_REGION ?= eu-central-1
export POWERTOOLS_TRACE_DISABLED ?= true

.PHONY: run call dial inject notify transcript summary test test-fast lint typecheck pytest sam-validate fidelity secrets-check lock bench validate graph openapi clean

# Installing talks to stderr only, so `make graph > x.mmd` stays valid Mermaid on a first run too.
$(VENV)/.installed: requirements-dev.txt layers/runtime/requirements.txt
	@echo "Setting up $(VENV) (first run only, 1-2 min)..." >&2
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt >&2
	@touch $@

# Local ports and URLs (README, "Local ports and URLs"): `make run` listens on PORT (3000), its moto on
# MOTO_PORT (5055), and writes both to .emulator.json, where call/inject/notify/transcript/summary find them.
run: $(VENV)/.installed
	@$(PY) -m audiocodes_devtools.emulator

# ENDPOINT=demo-async for async mode; after a transfer, type `answered` or `failed busy`.
call: $(VENV)/.installed
	@$(PY) -m audiocodes_devtools.phone

# From a second terminal: an outbound call through the emulator's VAIC dial-out stand-in, its statuses as they come.
dial: $(VENV)/.installed
	$(PY) -m audiocodes_devtools.dial "$(TARGET)" $(if $(PORT),--url http://127.0.0.1:$(PORT)) $(if $(METADATA),--metadata '$(METADATA)')

# From a second terminal, into the call `make call` shows: make inject SESSION=<id> TEXT="payment received"
inject notify: $(VENV)/.installed
	@$(PY) -m audiocodes_devtools.inject $@ --session "$(SESSION)" $(if $(TEXT),--text "$(TEXT)") $(if $(DATA),--data '$(DATA)')

# Analytics of the calls made against `make run` (read from its moto), or with TABLE=<AnalyticsTableName
# output of the stack> from AWS (your credentials and AWS_DEFAULT_REGION).
ANALYTICS = $(PY) -m audiocodes_devtools.analytics_cli $(if $(TABLE),--table $(TABLE),--local --table audiocodes-endpoint-local-AnalyticsTable)
transcript: $(VENV)/.installed
	@$(ANALYTICS) transcript $(or $(ENDPOINT),demo) "$(CONVERSATION)"
summary: $(VENV)/.installed
	@$(ANALYTICS) summary $(or $(ENDPOINT),demo)

# The full CI gate. `make test-fast` is the quick loop: lint, then unit, integration, replay and
# infrastructure tests (no emulator subprocesses, no browser, no sam); CI runs `make test`.
# The single-threaded checks run two at a time (ruff and mypy beside `sam validate`, which sets up
# .venv-sam on a first run while .venv is installed), then pytest alone on every core (its threaded
# tests have deadlines: nothing else competes for the cores), then fidelity (sam build uses .venv-sam).
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck sam-validate
	@$(MAKE) --no-print-directory pytest
	@$(MAKE) --no-print-directory fidelity

# Tests run on every core (pytest-xdist; PYTEST_WORKERS=0 runs them in this process). Each worker has
# its own in-process moto and, for tests/e2e, its own emulator on OS-chosen ports; tests/fidelity binds
# a fixed address and runs only in `make fidelity`, one process.
PYTEST_WORKERS ?= auto
FAST_TESTS := tests/unit tests/integration tests/replay tests/infrastructure
test-fast: lint
	SKIP_SAM=1 $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(FAST_TESTS)

# lint-imports: the package's import-layer contracts ([tool.importlinter] in pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# --cov: fails under the coverage floor of the deployed package (pyproject.toml, [tool.coverage.report]).
pytest: $(VENV)/.installed
	SKIP_SAM=1 $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --cov --cov-report=term

sam-validate:
	bash tools/sam.sh validate --lint

# sam build, then every function run from the built artifacts as Lambda lays them out, on moto
# (tests/fidelity; root for `unshare -m`, python3.12), then the IAM policies checked against what ran.
fidelity: $(VENV)/.installed
	$(VENV)/bin/pytest -q tests/fidelity

# Every secret the agent's endpoints reference, checked in the account your AWS credentials and
# region point at; prints the `aws ssm put-parameter` line for each missing one. KMS_KEY=<SecretsKmsKeyArn>.
secrets-check: $(VENV)/.installed
	$(PY) -m audiocodes_devtools.secrets_check --agent agent $(if $(KMS_KEY),--kms-key-id "$(KMS_KEY)")

# Re-lock the requirements after editing an *.in file (tools/lock.sh).
lock:
	bash tools/lock.sh

bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

validate: $(VENV)/.installed
	$(PY) -m audiocodes_devtools.agent_check agent

# Rewrite docs/openapi/*.json (Inject & Notify, outbound calls) from the handlers' routes and models, after
# changing one; tests/infrastructure/test_openapi.py fails until they are. `make run` serves them at /_docs.
openapi: $(VENV)/.installed
	$(PY) -m audiocodes_devtools.openapi write

graph: $(VENV)/.installed
	@$(PY) -m audiocodes_devtools.flows_cli graph $(or $(FLOW),main)

clean:
	rm -rf $(VENV) .venv-sam .venv-lock .venv-fidelity .aws-sam .mypy_cache .ruff_cache .pytest_cache
