# Two commands on a fresh machine with Python and make: `make dev` and `make test`.
# Each creates or updates its own virtual environment from the pinned requirements.

PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
CHECKS_VENV := .venv-checks
PY := $(VENV)/bin/python
PORT ?= 3000
# sam build needs the Lambda runtime's interpreter (python3.13) on PATH: a real
# interpreter, not pyenv's shim (which hangs when 3.13 is not pyenv's global version).
PY313 := $(or $(shell ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1),$(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null))
SAM_PATH := $(if $(PY313),$(patsubst %/,%,$(dir $(PY313))):,)$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: lock browser dev test test-unit test-contract test-integration test-e2e test-build lint typecheck openapi openapi-check bench build validate publish-console clean

# Every install checks each file against the lock's hashes (--require-hashes), and installs
# the lock as it is (--no-deps: it is complete; pip would otherwise ask for a pin of each
# extras form, boto3 beside boto3[crt], which no lock writes).
$(VENV)/.installed: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/sam.txt
	touch $@

$(CHECKS_VENV)/.installed: requirements/checks.txt
	$(PYTHON) -m venv $(CHECKS_VENV)
	$(CHECKS_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/checks.txt
	touch $@

# The locks, refreshed from the .in files with uv (pinned in dev.in), every file hashed.
# The layer's and the OAuth function's are resolved for Lambda (python3.13, Linux aarch64,
# glibc 2.34), whatever this machine is; the development and SAM ones for any platform
# from Python 3.11 up. dev.txt is resolved last: it takes the Lambda locks as constraints.
# An existing lock's pins are kept unless an .in asks otherwise; UPGRADE=1 takes newer ones.
# shared/requirements.txt is the layer's lock again, inside the layer's CodeUri: SAM's build
# cache keys a layer on its CodeUri alone, so a new lock must change that directory.
UV := $(VENV)/bin/uv
LOCK := $(UV) pip compile --quiet --generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade,)
LAMBDA_LOCK := --python-version 3.13 --python-platform aarch64-manylinux_2_34
LOCAL_LOCK := --universal --python-version 3.11

lock: $(VENV)/.installed
	$(LOCK) $(LAMBDA_LOCK) requirements/layer.in -o requirements/layer.txt
	cp requirements/layer.txt shared/requirements.txt
	$(LOCK) $(LAMBDA_LOCK) requirements/oauth.in -o functions/oauth/requirements.txt
	$(LOCK) $(LOCAL_LOCK) requirements/sam.in -o requirements/sam.txt
	$(LOCK) $(LOCAL_LOCK) requirements/checks.in -o requirements/checks.txt
	$(LOCK) $(LOCAL_LOCK) requirements/dev.in -o requirements/dev.txt

# The browser test drives Debian's Chromium (test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

dev: $(VENV)/.installed
	$(PY) -m devserver --port $(PORT) $(if $(STATE),--state $(STATE),)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The fakes and the contract suites too: mypy holds each fake to the ports it stands in for.
TYPED_TESTS = tests/contract tests/unit/fakes.py tests/unit/org_fakes.py tests/unit/two_factor_fakes.py \
	tests/unit/identity_fakes.py \
	tests/unit/test_org_services.py tests/unit/test_access_service.py

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy shared/kuploy_access functions devserver tools bench $(TYPED_TESTS)

openapi: $(VENV)/.installed
	$(PY) -m tools.generate_openapi

openapi-check: $(VENV)/.installed
	$(PY) -m tools.generate_openapi --check

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

test-integration: $(VENV)/.installed
	$(PY) -m pytest tests/integration

test-e2e: $(VENV)/.installed browser
	$(PY) -m pytest tests/e2e

test-contract: $(VENV)/.installed
	$(PY) -m pytest tests/contract

test-build: $(VENV)/.installed $(SAM_VENV)/.installed
	PATH="$(SAM_PATH)" $(PY) -m pytest tests/build

# Everything CI checks; ends with pytest's summary line.
# Two pytest-xdist workers, a test file each at a time (--dist loadfile): a file's tests
# share their fixtures and, in tests/e2e, their local server and client address; each
# worker's session starts servers of its own.
PYTEST_WORKERS ?= 2
test: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKS_VENV)/.installed browser lint typecheck openapi-check
	PATH="$(SAM_PATH)" $(PY) -m pytest tests -n $(PYTEST_WORKERS) --dist loadfile

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint

# The layer and each function through packaging/Makefile (BuildMethod: makefile). Not from
# SAM's cache (samconfig's `cached`): it keys each artifact on its CodeUri alone and would
# keep one built by an older packaging/Makefile.
build: $(SAM_VENV)/.installed
	PATH="$(SAM_PATH)" $(SAM_VENV)/bin/sam build --no-cached

# After `sam deploy`: the console's files to the stack's bucket, then a CloudFront
# invalidation (tools/publish_console.py). Needs AWS credentials for the stack;
# REGION=... when the AWS configuration's region is not the stack's.
STACK ?= kuploy-access
publish-console: $(VENV)/.installed
	$(PY) -m tools.publish_console --stack-name $(STACK) $(if $(REGION),--region $(REGION),)

# make deploy ENV=dev (or prod): sam build, then sam deploy, with samconfig.toml's [ENV]
# settings. tools/deploy.py checks them against the template first, and refuses a missing
# or unknown ENV and any placeholder left in them. DRY_RUN=1 checks and prints the
# commands only. Needs AWS credentials for the stage's account.
.PHONY: deploy
deploy: $(VENV)/.installed $(SAM_VENV)/.installed
	PATH="$(SAM_PATH)" $(PY) -m tools.deploy --sam $(SAM_VENV)/bin/sam $(if $(DRY_RUN),--dry-run,) $(ENV)

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache

# Static checks (tests/build/test_static_checks.py, in `make test`). When detect-secrets flags
# something that is not a secret: rescan into the baseline, then mark each new entry in the
# audit (it asks, one finding at a time); an entry nobody audited fails the test.
.PHONY: secrets-baseline
secrets-baseline: $(VENV)/.installed
	$(VENV)/bin/detect-secrets scan --baseline .secrets.baseline
	$(VENV)/bin/detect-secrets audit .secrets.baseline

# --- FUZZ (issue 16): Schemathesis against the local server's /openapi.json --------------
# tests/e2e/test_fuzz_e2e.py, long: FUZZ_EXAMPLES examples per operation and caller (3 in
# `make test`), Schemathesis' coverage phase (boundary values, every enum and format), and
# FUZZ_SCENARIOS stateful scenarios (10 in `make test`). Same fixed seed: a failure found
# here is found again by the same command. 40 examples and 40 scenarios took 8 minutes
# on this loaded 2-core machine, so the defaults take roughly 20 (an estimate).
FUZZ_EXAMPLES ?= 100
FUZZ_SCENARIOS ?= 100
.PHONY: fuzz
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SCENARIOS=$(FUZZ_SCENARIOS) FUZZ_COVERAGE=1 \
	  $(PY) -m pytest tests/e2e/test_fuzz_e2e.py

# --- FAULTS (issue 16) -----------------------------------------------------------------
# The fault suites alone (they also run in `make test`): DynamoDB throttling and cancelled
# transactions, SES, Secrets Manager/KMS, clock jumps, injected under the adapters on moto
# (tests/integration/faults.py), and the retry policy's unit tests.
.PHONY: faults
faults: $(VENV)/.installed
	$(PY) -m pytest tests/unit/test_retry_policy.py tests/integration/test_faults_dynamodb.py \
		tests/integration/test_faults_email.py tests/integration/test_faults_secrets.py \
		tests/integration/test_faults_clock.py -n 2 --dist loadfile -q

# --- LOAD (issue 16): the soak's mixed workload against the local server (tools/soak) ---
# Sign-ins, refreshes, API-key reads, invitations and acceptances from SOAK_CLIENTS clients
# for SOAK_SECONDS (the first SOAK_WARMUP of them a warm-up); prints requests/s, p50/p99
# and statuses per route and the DynamoDB requests per operation, and fails on a 5xx, an
# unexpected answer, a broken invariant or the server's memory growing past its bound.
# A 25-second version with 6 clients runs in `make test` (tests/e2e/test_soak_e2e.py).
.PHONY: soak-load
SOAK_CLIENTS ?= 50
SOAK_SECONDS ?= 600
SOAK_WARMUP ?= 120
soak-load: $(VENV)/.installed
	$(PY) -m tools.soak --clients $(SOAK_CLIENTS) --duration $(SOAK_SECONDS) --warmup $(SOAK_WARMUP)

# BENCH (issue 16, performance gates): `make bench` prints one table, every figure from one
# run beside its target; bench-check is the same run and fails when a target is missed.
# The load-independent part (DynamoDB requests and capacity per operation, items read per
# page, the authorizer's imports) also runs in `make test`: tests/integration/test_performance_gates.py.
.PHONY: bench-check
bench-check: $(VENV)/.installed
	$(PY) -m bench --check

# --- RACES (issue 16) -------------------------------------------------------------------
# Every race of tests/e2e/test_races_*_e2e.py, 20 rounds each (`make test` runs one):
# each round its own accounts and client addresses; the ids (round01..round20) are the
# same on every worker.
RACE_ROUNDS ?= 20
.PHONY: soak-races
soak-races: $(VENV)/.installed
	RACE_ROUNDS=$(RACE_ROUNDS) $(PY) -m pytest tests/e2e/test_races_orgs_e2e.py tests/e2e/test_races_signin_e2e.py \
		tests/e2e/test_races_tokens_e2e.py -n $(PYTEST_WORKERS) --dist loadfile

# --- SOAK (issue 16): both long runs, the races 20 times each, then the load --------------
.PHONY: soak
soak: soak-races soak-load
