PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

# Serves the portal with the demo world on an embedded SQLite database.
run: $(STAMP)
	$(BIN)/dsure-portal init-db
	$(BIN)/dsure-portal demo
	DSURE_SESSION_COOKIE_SECURE=false $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) \
		--access-logfile - wsgi:app

# The whole suite. PostgreSQL/Redis tests run when DSURE_TEST_DATABASE_URL /
# DSURE_TEST_REDIS_URL are set (.ci/run sets them) and are skipped otherwise.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) instance
