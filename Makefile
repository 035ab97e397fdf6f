# The README's two commands: `make deploy` (dev stack on the local Docker host) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
# Pulumi.yaml's virtualenv: the program and the archive command use it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Pulumi runs through python -m infra.cli (the Automation API). It picks the state backend: PULUMI_BACKEND_URL
# when you set it, else the project-local .pulumi-state/ for local stacks only; it never runs `pulumi login`.

.PHONY: deploy destroy test test-unit test-torchserve test-docker prereqs venv bench compose token snapshot preview \
	check pulumi-cli smoke outputs tune observe

$(VENV)/.deploy-deps: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-torch.txt requirements-test.txt $(VENV)/.deploy-deps
	$(PY) -m pip install --disable-pip-version-check -r requirements-torch.txt
	$(PY) -m pip install --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.test-deps

# System packages of the full suite (Docker engine, debootstrap, Java 17, ...): installs the missing ones as root
# on Debian/Ubuntu, else prints the one install command. test-unit needs none of them.
prereqs:
	@sh tools/prereqs.sh

# check (before the venv), the venv, the pinned Pulumi CLI when none is on PATH, pulumi up, a sample request per model.
deploy: check $(VENV)/.deploy-deps
	@$(PY) tools/install_pulumi.py --if-missing
	@$(PY) -m infra.cli up --stack $(STACK)
	@$(PY) -m infra.cli smoke --stack $(STACK)

# The quick checks, before anything slow: Python 3.11+, then the stack, its state backend and the Docker engine.
check:
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make deploy needs Python 3.11 or later as python3 (found: $$(python3 -V 2>&1)): install python3.11 and python3.11-venv, then run make deploy again" >&2; exit 1; }
	@python3 -m infra.cli check --stack $(STACK)

# The pinned Pulumi CLI (PULUMI_VERSION) into .pulumi-cli/, checksum-verified; PULUMI_MIRROR_URL for air-gapped machines.
pulumi-cli:
	@python3 tools/install_pulumi.py

destroy: $(VENV)/.deploy-deps
	@$(PY) -m infra.cli destroy --stack $(STACK)

# Send every model its manifest's sample request again (the last step of make deploy).
smoke: $(VENV)/.deploy-deps
	@$(PY) -m infra.cli smoke --stack $(STACK)

outputs: $(VENV)/.deploy-deps
	@$(PY) -m infra.cli outputs --stack $(STACK)

test: prereqs $(VENV)/.test-deps
	$(PY) -m pytest

test-unit: $(VENV)/.test-deps
	$(PY) -m pytest -m "not torchserve and not docker and not root and not system"

test-torchserve: prereqs $(VENV)/.test-deps
	$(PY) -m pytest -m torchserve

test-docker: prereqs $(VENV)/.test-deps
	$(PY) -m pytest -m docker

bench: prereqs $(VENV)/.test-deps
	$(PY) -m bench $(BENCH_ARGS)

# make tune STACK=dev [TUNE_ARGS="--budget-s 300 --write"]: sweep each model's workers, threads and batching on this
# machine's Docker engine within a budget; the recommendation goes to .build/tune/, with --write into the stack.
tune: prereqs $(VENV)/.test-deps
	$(PY) -m bench.tune --stack $(STACK) $(TUNE_ARGS)

# Write .build/$(STACK)/docker-compose.yml from the stack's container specs (no Pulumi CLI needed).
# Prometheus (Debian's package) scraping a local stack's container, with recording rules (README, Observability).
observe: $(VENV)/.deploy-deps
	@$(PY) -m infra.observe --stack $(STACK) $(OBSERVE_ARGS)

compose: $(VENV)/.deploy-deps
	@$(PY) -m infra.compose --stack $(STACK)

# Print the local stack's inference key (ROTATE=1 rotates it first; KIND=management for the other key).
token: $(VENV)/.deploy-deps
	@$(PY) -m infra.cli token --stack $(STACK) --kind $(or $(KIND),inference) $(if $(ROTATE),--rotate,)

# Write tests/snapshots/<stack>.yaml: every committed stack's resource graph, evaluated offline.
snapshot: $(VENV)/.deploy-deps
	$(PY) -m infra.snapshot

# `pulumi preview --diff` of one stack against its backend (needs the stack's credentials); without the Pulumi CLI,
# review tests/snapshots/$(STACK).yaml (make snapshot) instead.
preview: $(VENV)/.deploy-deps
	@$(PY) -m infra.cli preview --stack $(STACK)
