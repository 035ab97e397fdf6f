# The README's two commands: `make deploy` (dev stack on the local Docker host) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
# Project-local file backend; an empty passphrase is fine for dev (no secrets in the dev stack).
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_CONFIG_PASSPHRASE ?=
# Pulumi.yaml's virtualenv: the program and the archive command use it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: deploy destroy test test-unit test-torchserve test-docker prereqs venv bench compose token snapshot preview

$(VENV)/.deploy-deps: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-test.txt $(VENV)/.deploy-deps
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.test-deps

# System packages of the full suite (Docker engine, debootstrap, Java 17, ...): installs the missing ones as root
# on Debian/Ubuntu, else prints the one install command. test-unit needs none of them.
prereqs:
	@sh tools/prereqs.sh

deploy: $(VENV)/.deploy-deps
	@command -v pulumi >/dev/null || { \
	  echo "make deploy needs the Pulumi CLI, which is not installed."; \
	  echo "Install it: curl -fsSL https://get.pulumi.com | sh   (or: brew install pulumi), then run make deploy again."; \
	  exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make deploy needs a running Docker engine (docker info failed)."; exit 1; }
	mkdir -p .pulumi-state
	pulumi login "$$PULUMI_BACKEND_URL"
	pulumi stack select $(STACK) --create
	pulumi up --yes --stack $(STACK)
	$(PY) -m infra.smoke --stack $(STACK)

destroy:
	pulumi destroy --yes --stack $(STACK)

test: prereqs $(VENV)/.test-deps
	$(PY) -m pytest

test-unit: $(VENV)/.test-deps
	$(PY) -m pytest -m "not torchserve and not docker and not root and not system"

test-torchserve: prereqs $(VENV)/.test-deps
	$(PY) -m pytest -m torchserve

test-docker: prereqs $(VENV)/.test-deps
	$(PY) -m pytest -m docker

bench: $(VENV)/.test-deps
	$(PY) -m bench

# Write .build/$(STACK)/docker-compose.yml from the stack's container specs (no Pulumi CLI needed).
compose: $(VENV)/.deploy-deps
	$(PY) -m infra.compose --stack $(STACK)
	@echo "run it: docker-compose -f .build/$(STACK)/docker-compose.yml up --build"

# Print the local stack's inference key (ROTATE=1 rotates it first; KIND=management for the other key).
token: $(VENV)/.deploy-deps
	@$(PY) -m infra.token --stack $(STACK) --kind $(or $(KIND),inference) $(if $(ROTATE),--rotate,)

# Write tests/snapshots/<stack>.yaml: every committed stack's resource graph, evaluated offline.
snapshot: $(VENV)/.deploy-deps
	$(PY) -m infra.snapshot

# `pulumi preview --diff` of one stack against its backend (needs the Pulumi CLI and the stack's credentials).
preview: $(VENV)/.deploy-deps
	@command -v pulumi >/dev/null || { \
	  echo "make preview needs the Pulumi CLI, which is not installed."; \
	  echo "Install it: curl -fsSL https://get.pulumi.com | sh; or review tests/snapshots/$(STACK).yaml (make snapshot), which needs no CLI."; \
	  exit 1; }
	pulumi preview --diff --stack $(STACK)
