# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
SYSDEPS := libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils
DEMO_ROWS ?= 3000
DEMO_PORT ?= 8000

.PHONY: demo test install sysdeps lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: sysdeps $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh $(SYSDEPS)

demo: install
	bash scripts/demo.sh $(DEMO_ROWS) $(DEMO_PORT)

test: install
	@bash scripts/sysdeps.sh chromium npm pgbouncer
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

clean:
	rm -rf var/ .pytest_cache
