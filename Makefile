# Two entry points (README): `make run` and `make test`. Both install what is
# missing: Debian packages (WeasyPrint's Pango and HarfBuzz subsetter, CJK
# fonts, poppler) and the Python virtualenv.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# texlive-lang-chinese ships FandolFang, the open 仿宋 with full GB 2312
# coverage; chromium drives the browser tests; nginx runs the example site of
# docs/deploy in tests/test_deploy.py.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	fonts-noto-cjk fonts-lxgw-wenkai poppler-utils texlive-lang-chinese chromium nginx-light
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint system-deps python-deps demo bench

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

demo: system-deps python-deps
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py loaddemo

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (demo passwords printed above)"
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: python-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: system-deps python-deps lint
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
