# The two set-up commands: `make demo` (a server with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export CRDS_SERVER_HOME ?= $(CURDIR)/var
BIND ?= 127.0.0.1:8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/crds_server
MYSQL_URL ?= mysql://root@127.0.0.1:3306/crds_server
# Test processes (pytest-xdist); each test module runs whole in one of them.
TEST_WORKERS ?= 2
export TEST_WORKERS

.PHONY: install demo run test test-fast lint bench clean

# fitsverify (Debian package) where missing: certification runs it, FITS submissions are
# refused without it.
install: $(STAMP)
	@command -v fitsverify >/dev/null || $(PY) tests/services.py fitsverify

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: install
	$(VENV)/bin/crds-server demo --story --observatory $${CRDS_SERVER_OBSERVATORY:-hst}
	@echo ""
	@echo "Try it with the real crds client (another shell):"
	@echo "  export CRDS_SERVER_URL=http://$(BIND) CRDS_OBSERVATORY=$${CRDS_SERVER_OBSERVATORY:-hst} CRDS_PATH=/tmp/crds_cache"
	@echo "  $(VENV)/bin/crds list --status"
	@echo "  $(VENV)/bin/crds sync --contexts $${CRDS_SERVER_OBSERVATORY:-hst}-latest --fetch-references"
	@echo "Pages: http://$(BIND)/  and the JSON-RPC methods at http://$(BIND)/json/"
	@echo "Log in at http://$(BIND)/login/ as demo-submitter (password demo-submitter, instrument acs)"
	@echo "or demo-operator (password demo-operator, instrument none) to submit files or set contexts."
	@echo ""
	CRDS_SERVER_PUBLIC_URL=http://$(BIND) $(VENV)/bin/crds-server run --bind $(BIND)

run: install
	$(VENV)/bin/crds-server run --bind $(BIND)

# The whole suite on SQLite, then the database tests again on every reachable
# production backend (PostgreSQL, MariaDB).  The output says which ran.
test: install
	$(VENV)/bin/ruff check crds_server tests bench
	$(PY) tests/services.py
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile
	$(PY) tests/backends.py $(PG_URL) $(MYSQL_URL)

test-fast: install
	$(PY) -m pytest -m "not live"

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var test-artifacts
