# Porta Unica — the commands a newcomer needs. `make run` and `make test` do everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
LANGS  := it en zh ro sq ar ur bn es uk

.PHONY: run test install install-dev translations translations-extract translations-update \
        translations-init vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

## Compile the catalogs (the .mo files are build output, never committed).
translations: | $(BIN)/python
	$(BIN)/pybabel compile -d translations -D messages

## Collect every msgid from the code and templates into translations/messages.pot.
translations-extract: | $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
	  --omit-header -o translations/messages.pot .

## Merge the template into every catalog; new entries need translating before tests pass.
translations-update: translations-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching

## Start a catalog for a new language: make translations-init LANG=xx
translations-init: translations-extract
	$(BIN)/pybabel init -i translations/messages.pot -d translations -D messages -l $(LANG)

## Re-vendor Bootstrap Italia, its RTL stylesheet and axe-core (needs npm).
vendor: | $(BIN)/python
	$(BIN)/python scripts/vendor_assets.py

run: install
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal seed-demo --if-empty
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/flask --app portal demo-info
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) web worker

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
	find translations -name '*.mo' -delete
