PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench bench-million clean

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

# Issue 11's Targets table: 10k certificates on SQLite and PostgreSQL (a local server at
# 127.0.0.1, database dsure_bench_10k, dropped and recreated); JSON in bench/out/.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run --size 10000 --engine both $(BENCH_ARGS)

# The same at 10k and 1M (the list's 1M ÷ 10k rows); the 1M world is seeded once (the
# time it took is printed) and reused from bench/out/worlds/ after. ENGINE=sqlite for one.
ENGINE ?= both
bench-million: $(STAMP)
	$(BIN)/python -m bench.run --size 10000 --size 1000000 --engine $(ENGINE) --reuse $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance
