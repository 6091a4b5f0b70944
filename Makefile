# The two commands of the README: `make run` (set up and run the shop, apps included) and `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
INFRA_STAMP := $(VENV)/.infra-installed
# The CDK CLI, pinned; only deploy and destroy use it (synth is aws-cdk-lib's app.synth(), offline).
CDK := npx --yes aws-cdk@2.1148.1
CDK_APP := --app infra/out
STAGE ?= dev

.PHONY: run test lint typecheck web web-check browser bench bench-ui screenshots clean aws-calls synth deploy destroy

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -e .
	touch $@

# The apps: exact versions from the committed lockfile, then a production build into web/dist.
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: $(WEB_STAMP)
	cd web && npm run build

# The deploy's tools (requirements-infra.txt), beside the local runtime's.
$(INFRA_STAMP): requirements-infra.txt $(STAMP)
	$(VENV)/bin/pip install --quiet -r requirements-infra.txt
	touch $@

# Every CloudFormation template the deploy uses, as JSON, into infra/out: no AWS account or network (infra/main.py);
# skipped when nothing it is made from changed. The first synth fills Chalice's dependency cache from PyPI.
synth: $(INFRA_STAMP) web
	$(VENV)/bin/python -m infra.main

# Needs an AWS account (docs/deploy.md): `make deploy STAGE=prod`, `ALARM_EMAIL=you@example.com make deploy`.
deploy: synth
	@$(VENV)/bin/python -m infra.deploy check $(STAGE)
	$(CDK) bootstrap $(CDK_APP)
	$(CDK) deploy $(CDK_APP) $(STAGE) --require-approval never --outputs-file infra/out/$(STAGE).outputs.json
	@$(VENV)/bin/python -m infra.deploy summary $(STAGE)

destroy: synth
	@$(VENV)/bin/python -m infra.deploy check $(STAGE)
	$(CDK) destroy $(CDK_APP) $(STAGE) --force

# Generated GraphQL types match the SDL and operations, the apps type-check, their unit tests pass.
web-check: $(WEB_STAMP)
	cd web && npm run check

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends chromium >/dev/null || \
	    { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	  else echo "error: browser tests need $(CHROMIUM): run 'sudo apt-get install chromium'" >&2; exit 1; fi; }

run: $(STAMP) web
	$(VENV)/bin/serverlesspresso up $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP) $(INFRA_STAMP)
	$(VENV)/bin/mypy chalicelib serverlesspresso infra --exclude '^infra/(out|\.build)/'

# The synthesized templates are what tests/infra lints, deploys to moto and checks against the recorded AWS calls.
test: lint typecheck web-check web browser synth
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/python bench/journeys.py $(ARGS)

clean:
	rm -rf $(VENV) .serverlesspresso web/node_modules web/dist infra/out infra/.build

# Screenshots of every screen at its viewport, as the end-to-end tests reach them (shown in the README).
screenshots: $(STAMP) web browser
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(VENV)/bin/python -m pytest tests/e2e -q

bench-ui: $(STAMP) web browser
	$(VENV)/bin/python bench/ui_latency.py $(ARGS)

# The AWS calls each function and the workflow make, as evidence for least privilege (infra/aws-calls.json): the local
# shop driven through every path with a botocore recorder on. `make test` fails when the code makes a call it lacks.
aws-calls: $(STAMP)
	$(VENV)/bin/python -m serverlesspresso.scenario evidence --write infra/aws-calls.json
