# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck bench clean postgres screens

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# pip byte-compiles what it installs, but not an editable install: compile once, as an install would
# (never stale: Python checks each source's timestamp)
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	$(PY) -m compileall -q src >/dev/null
	touch $@

$(DEVSTAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q src >/dev/null
	touch $(STAMP) $@

demo: $(STAMP)  ## assess the bundled example app and write the reports
	@mkdir -p out
	$(VENV)/bin/cnsec assess examples/shop -f table --fail-on none
	$(VENV)/bin/cnsec assess examples/shop -f markdown -o out/SECURITY-ASSESSMENT.md --fail-on none
	$(VENV)/bin/cnsec assess examples/shop -f sarif -o out/cnsec.sarif --fail-on none
	@echo "reports written to out/SECURITY-ASSESSMENT.md and out/cnsec.sarif"

test: $(DEVSTAMP)  ## the whole suite, plus lint and type checks
	@bash scripts/install-test-deps.sh
	@bash scripts/start-postgres.sh || true
	@if [ -f .pg-test-url ]; then export CNSEC_TEST_POSTGRES="$$(cat .pg-test-url)"; fi; \
	  $(PY) -m pytest
	$(PY) -m ruff check src tests bench
	$(PY) -m mypy

screens: $(DEVSTAMP)  ## a screenshot of every dashboard page at 1280 px and 375 px, in out/screens/
	@bash scripts/install-test-deps.sh
	$(PY) scripts/ui-screens.py

lint: $(DEVSTAMP)
	$(PY) -m ruff check src tests bench

typecheck: $(DEVSTAMP)
	$(PY) -m mypy

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
