# The README's commands. Each does its own set-up on a fresh Debian machine.
#   make run       serve the shipped data on http://127.0.0.1:5000 (gunicorn, production)
#   make test      lint (Python and the page scripts), type-check, check the import
#                  contracts (pyproject.toml) and run the whole test suite (browser
#                  tests included)
#   make lint-js   ESLint over the page scripts (static/js, static/eslint.config.js)
#   make help-shots  the screenshots of /help, remade from the running application
#   make loadtest  50 clients for 60 s against the production server on loopback
#                  (make loadtest SLOW=1: beside 200 + 200 slow clients; make loadtest
#                  CLUSTER=1: 100 logged-in inspectors against `make cluster`, PostgreSQL
#                  stopped 30 s in the middle; CLUSTER=1 RATE=100: writes only, 100 a second
#                  offered, for p50/p99; SEED=1000000 fills the inspections to 1M first)
#   make cluster   PostgreSQL + PostGIS, two app servers and nginx on one machine, on
#                  http://127.0.0.1:8080/ (make cluster-stop ends it)
#   make bench     the service at 1k, 100k and 1M synthetic venues against the naive way
#                  (make bench SIZES=1000,100000 for a shorter run; DATABASE_URL=postgresql://...
#                  runs it on a scratch PostGIS database, whose layers and records it overwrites)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000
# One worker per core, and at least 2: one busy worker never holds up every request.
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -ge 2 ] && echo $$n || echo 2)
THREADS ?= 4
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SIZES  ?= 1000,100000,1000000
QUERIES ?= 1000
CLUSTER_PORT ?= 8080

.PHONY: run test lint-js loadtest bench setup setup-test assets browser-deps postgis-deps wrk-deps geodata clean \
	cluster cluster-stop cluster-deps help-shots

# gunicorn.conf.py holds the rest of the serving settings.
# EXTERNAL_URL: the address users type (https://map.example.gov.cn), when they reach the
# service by another name than 127.0.0.1 or localhost (any other Host is refused with 400).
run: setup
	$(if $(EXTERNAL_URL),HUAISHU_EXTERNAL_URL='$(EXTERNAL_URL)') \
	$(PY) -m gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --threads $(THREADS)

loadtest: setup
ifdef CLUSTER
	$(PY) bench/cluster_load.py --url http://127.0.0.1:$(CLUSTER_PORT) \
		$(if $(RATE),--clients 40 --duration 30 --outage 0 --rate $(RATE),--clients 100 --duration 60 \
		--outage 30) $(if $(SEED),--seed $(SEED))
else
	$(PY) bench/loadtest.py --clients 50 --duration 60 --workers $(WORKERS) --threads $(THREADS) \
		$(if $(SLOW),--slow)
endif

bench: setup-test browser-deps wrk-deps
	$(PY) bench/scale.py --sizes $(SIZES) --queries $(QUERIES) \
		$(if $(DATABASE_URL),--database-url '$(DATABASE_URL)')

test: setup-test browser-deps postgis-deps cluster-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(MAKE) lint-js
	$(PY) -m pytest -n auto --dist loadfile

# The screenshots of /help (static/help/*.png and manifest.json), made in headless Chromium
# from the running application; the tests fail when one is older than the pages it shows.
help-shots: setup-test browser-deps
	HUAISHU_HELP_SHOTS=write $(PY) -m pytest -q -p no:xdist tests/browser/test_help_shots.py

# ESLint comes from static/package.json's devDependencies (npm ci, as for the assets).
lint-js: assets
	cd static && node_modules/.bin/eslint .

setup: $(VENV)/.installed assets

setup-test: setup $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Leaflet and other front-end assets come from the npm registry at set-up and
# are served by the app itself; they are not committed.
assets: static/node_modules/.package-lock.json

static/node_modules/.package-lock.json: static/package.json static/package-lock.json
	cd static && npm ci --no-audit --no-fund

# Debian's Chromium (Playwright cannot download its own browser here) and CJK fonts.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then :; else \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium fonts-noto-cjk; \
	fi

# PostgreSQL 15 and PostGIS 3 for the tests of the PostGIS store, which start a
# throwaway cluster of their own (initdb in a temporary directory, a free port).
postgis-deps:
	@if [ -x /usr/lib/postgresql/15/bin/initdb ] && \
		[ -f /usr/share/postgresql/15/extension/postgis.control ]; then :; else \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql-15 \
			postgresql-15-postgis-3; \
	fi

# wrk (Debian's) for make bench's 16-client figure.
wrk-deps:
	@if command -v wrk >/dev/null 2>&1; then :; else \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk; \
	fi

# Several servers on one machine (ops/cluster.py): PostgreSQL + PostGIS in
# instance/cluster/pg, two gunicorn app servers (127.0.0.1:5101, :5102) and nginx on
# http://127.0.0.1:$(CLUSTER_PORT)/ in front of them. `make cluster-stop` ends it (the
# data stays in instance/cluster).
cluster: setup postgis-deps cluster-deps
	$(PY) ops/cluster.py start --port $(CLUSTER_PORT)

cluster-stop:
	$(PY) ops/cluster.py stop --port $(CLUSTER_PORT)

# nginx, the load balancer of `make cluster` (Debian's package; installed when missing).
cluster-deps: postgis-deps
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; else \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q nginx-light; \
	fi

# Regenerate the illustrative shipped data (deterministic).
geodata: setup
	$(PY) geodata/make_geodata.py

clean:
	rm -rf $(VENV) static/node_modules .pytest_cache .ruff_cache .mypy_cache .import_linter_cache test-artifacts
