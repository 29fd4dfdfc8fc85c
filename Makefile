# Two commands do all set-up on a machine with only Python 3 and make:
#   make demo   - build .venv, install ff-otel, run the instrumented example service
#   make test   - build .venv with dev extras, run ruff, mypy and the whole test suite
#                 (the docs site's strict build and every example in the docs included)
#   make docs   - build the documentation site into site/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck docs bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf ff_data
	$(BIN)/python examples/chat_service.py --base-path ./ff_data --seconds 6

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests examples benchmarks docs/_ext docs/gen_configuration.py
	$(BIN)/ruff format --check src tests examples benchmarks docs/_ext docs/gen_configuration.py

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# --strict: a broken link, anchor or API reference fails the build
# (tests/test_docs.py runs the same build in make test).
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The dashboard's browser tests drive Debian's chromium (no Playwright browser
# download); installed here when missing, a no-op when it is already there.
APT := $(shell [ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get
chromium:
	@command -v chromium >/dev/null 2>&1 || ($(APT) update && $(APT) install -y chromium)

test: lint typecheck chromium
	$(BIN)/python -m pytest -q

NAB_CORPUS ?= ../shared/data/nab/corpus

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/imports.py
	$(BIN)/python benchmarks/collection.py
	$(BIN)/python benchmarks/alerting.py
	$(BIN)/python benchmarks/anomaly.py
	@if [ -d $(NAB_CORPUS) ]; then $(BIN)/python benchmarks/nab.py --data $(NAB_CORPUS)/data \
		--out /tmp/ff-otel-nab --name ffotel --windows $(NAB_CORPUS)/combined_windows.json; \
		else echo "benchmarks/nab.py skipped: $(NAB_CORPUS) is missing (NAB_CORPUS=DIR)"; fi
	$(BIN)/python benchmarks/audit.py
	$(BIN)/python benchmarks/privacy.py
	$(BIN)/python benchmarks/user_events.py
	$(BIN)/python benchmarks/bi.py
	$(BIN)/python benchmarks/sql.py
	$(BIN)/python benchmarks/otlp_outage.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/clickhouse.py

clean:
	rm -rf $(VENV) ff_data site .pytest_cache .mypy_cache .ruff_cache
