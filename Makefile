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
	@tar czf out/shop.tgz -C examples shop
	@echo ""
	@echo "The same example in the platform server (docs/serve.md), in a second terminal for cnsec serve:"
	@echo "  export CNSEC_DB=sqlite:///$$PWD/out/demo.db"
	@echo "  $(VENV)/bin/cnsec iam init                              # the store (cnsec serve would make it too)"
	@echo "  $(VENV)/bin/cnsec iam users add admin --role admin      # the first user: no default credentials"
	@echo "  $(VENV)/bin/cnsec serve                                 # http://127.0.0.1:8443, until Ctrl-C"
	@echo "  TOKEN=\$$($(VENV)/bin/cnsec iam login admin | head -n1)   # an access token, valid 5 minutes"
	@echo "  curl -sS -H \"Authorization: Bearer \$$TOKEN\" -F target=shop -F file=@out/shop.tgz \\"
	@echo "       http://127.0.0.1:8443/v1/assessments"
	@echo "  curl -sS -H \"Authorization: Bearer \$$TOKEN\" -H 'Content-Type: application/x-ndjson' \\"
	@echo "       --data-binary @examples/attack/audit.log http://127.0.0.1:8443/v1/ingest/events"
	@echo "  then open http://127.0.0.1:8443/ui/ and log in as admin"

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
