# Two entry points (README): `make run` and `make test`. Both install what is
# missing: Debian packages (WeasyPrint's Pango and HarfBuzz subsetter, CJK
# fonts, poppler) and the Python virtualenv. Both need Redis on
# 127.0.0.1:6379 (the job queue, ADR 0009): when nothing answers there they
# install Debian's redis-server if missing and start one without persistence.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# texlive-lang-chinese ships FandolFang, the open 仿宋 with full GB 2312
# coverage; chromium drives the browser tests; nginx runs the example site of
# docs/deploy in tests/test_deploy.py.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	fonts-noto-cjk fonts-lxgw-wenkai poppler-utils texlive-lang-chinese chromium nginx-light \
	postgresql-client
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000
REDIS_PORT := 6379
# Beat's schedule file, Redis's log and pid file of `make run`: kept out of the work tree.
RUN_DIR := $(VENV)/var
# True when something answers on Redis's port (bash's /dev/tcp: no client needed).
REDIS_UP := (exec 3<>/dev/tcp/127.0.0.1/$(REDIS_PORT)) 2>/dev/null
# Installs redis-server when missing and starts one (no persistence) when nothing answers.
# Exit status 0 when it started one, 1 when one was there already.
START_REDIS := $(REDIS_UP) && exit 1; \
	command -v redis-server >/dev/null || { echo "Installing redis-server"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends redis-server; \
		for i in 1 2 3 4 5 6 7 8 9 10; do $(REDIS_UP) && exit 1; sleep 0.2; done; }; \
	mkdir -p $(RUN_DIR) && redis-server --daemonize yes --bind 127.0.0.1 --port $(REDIS_PORT) --save "" --appendonly no \
		--dir $(abspath $(RUN_DIR)) --pidfile $(abspath $(RUN_DIR))/redis.pid --logfile $(abspath $(RUN_DIR))/redis.log || exit 2; \
	for i in $$(seq 50); do $(REDIS_UP) && { echo "Started redis-server on 127.0.0.1:$(REDIS_PORT) (no persistence)"; exit 0; }; sleep 0.1; done; \
	echo "redis-server did not start: see $(RUN_DIR)/redis.log" >&2; exit 2

.PHONY: run test lint system-deps python-deps node-deps demo bench redis

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

python-deps: $(VENV)/.installed

# axe-core, which the browser tests inject into each page (tests/browser/conftest.py),
# pinned by package-lock.json; Debian's nodejs and npm are installed when npm is missing.
# npm ci runs again when the lock file is newer than the last install's record of it.
node-deps:
	@if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		command -v npm >/dev/null || { echo "Installing Debian packages: nodejs npm"; \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; }; \
		npm ci --include=dev --no-audit --no-fund; \
	fi

# Redis for the job queue (and the cache), left running (make test, .ci/run).
redis:
	@( $(START_REDIS) ); rc=$$?; [ $$rc -le 1 ]

demo: system-deps python-deps
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py loaddemo

# The web server, one Celery worker and celery beat (and Redis when none was
# running); Ctrl-C stops all of them, and Redis only if this run started it.
run: system-deps python-deps
	@( $(START_REDIS) ); rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
	started_redis=$$([ $$rc -eq 0 ] && echo 1); pids=""; \
	stop() { \
		trap - EXIT INT TERM; \
		[ -z "$$pids" ] || { kill $$pids 2>/dev/null; wait $$pids 2>/dev/null; }; \
		if [ -n "$$started_redis" ]; then redis-cli -p $(REDIS_PORT) shutdown nosave >/dev/null 2>&1; echo "Stopped redis-server"; fi; \
	}; \
	trap stop EXIT; trap 'exit 130' INT TERM; \
	$(MAKE) --no-print-directory demo || exit 1; \
	mkdir -p $(RUN_DIR); \
	DJANGO_DEBUG=1 $(VENV)/bin/celery -A reportsite worker --loglevel=INFO --concurrency=2 & pids="$$pids $$!"; \
	DJANGO_DEBUG=1 $(VENV)/bin/celery -A reportsite beat --loglevel=INFO --schedule=$(RUN_DIR)/celerybeat-schedule & pids="$$pids $$!"; \
	echo "Serving on http://$(HOST):$(PORT)/ (demo passwords printed above); Ctrl-C stops the server, the worker and beat"; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: python-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: system-deps python-deps node-deps lint redis
	DJANGO_SETTINGS_MODULE=reportsite.settings_test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=reportsite.settings_test $(PY) manage.py report_schema --check
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite must run tests"; exit 1; fi; \
	exit $$rc

# The performance targets (docs/benchmarks.md); wrk drives the HTTP load.
bench: system-deps python-deps
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk; }
	$(PY) bench/pdf_render.py
	$(PY) bench/http_load.py
	$(PY) bench/publish.py
	@if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres $(PY) bench/scale.py \
		&& DATABASE_URL=postgres://postgres@127.0.0.1:5432/reportsite_scale_10000 $(PY) bench/http_scale.py; \
	else echo "PostgreSQL not reachable on 127.0.0.1:5432: skipped bench/scale.py and bench/http_scale.py"; fi
