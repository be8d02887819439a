# Wharf: `make run` sets up and serves Wharf on http://127.0.0.1:8000 (WHARF_PORT and
#        WHARF_REGISTRY_PORT move it and its registry), `make test` sets up and runs the
#        whole test suite twice: on PostgreSQL + Redis, and on the embedded default
#        (SQLite, local cache), the same tests each time.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Test services: the local PostgreSQL and Redis (see README "Configuration").
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wharf
TEST_REDIS ?= redis://127.0.0.1:6379

.PHONY: messages gettext registry-binary gate-binary help run test test-postgresql test-sqlite test-fast test-slow lint typecheck check deps dev-deps ldap-headers ldap-deps system-test-deps bench-deps services migrate clean

help:
	@echo "make run    - install, migrate, create the first admin and serve Wharf on http://127.0.0.1:8000"
	@echo "             (WHARF_PORT=8100 WHARF_REGISTRY_PORT=5100 make run: other ports)"
	@echo "make test   - install what tests need and run the whole suite on PostgreSQL + Redis and on SQLite"
	@echo "              (one database: make test-postgresql / make test-sqlite)"
	@echo "make lint   - ruff; make typecheck - mypy"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Install only what the virtualenv lacks: the pins are compared with what is installed
# (not a stamp's modification time, which a fresh clone or a checkout makes stale), so
# a complete .venv, or one given with VENV=..., is used as it is.
deps: | $(PY)
	@$(PY) portal/requirements_met.py requirements.txt 2>/dev/null || $(PIP) install --quiet -r requirements.txt

dev-deps: ldap-headers | $(PY)
	@$(PY) portal/requirements_met.py requirements-dev.txt 2>/dev/null || $(PIP) install --quiet -r requirements-dev.txt

# python-ldap (directory login) builds from source against OpenLDAP's and SASL's headers.
ldap-headers:
	@dpkg -s libldap2-dev libsasl2-dev >/dev/null 2>&1 || { \
	  echo "Installing Debian packages: libldap2-dev libsasl2-dev"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libldap2-dev libsasl2-dev; }

# Directory login for `make run` (WHARF_LDAP_SERVER_URI): the optional requirements.
ldap-deps: ldap-headers | $(PY)
	@$(PY) portal/requirements_met.py requirements-ldap.txt 2>/dev/null || $(PIP) install --quiet -r requirements-ldap.txt

# Debian packages the tests drive: Chromium for the browser tests (and a Chinese font,
# so the zh-Hans pages are laid out as people see them), the real registry (CNCF
# Distribution 2.8) and skopeo as a real registry client; rpm (rpmbuild
# writes the rpm databases the scanner reads, and is the reference for rpm's version
# order), golang-go (builds the Go binaries whose build information it reads) and
# php-cli (PHP's version_compare is the reference for Packagist's version order) and
# db-util (BerkeleyDB's db_load writes the rpm databases of older releases).
system-test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v rpmbuild >/dev/null || missing="$$missing rpm"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	command -v php >/dev/null || missing="$$missing php-cli"; \
	command -v db_load >/dev/null || missing="$$missing db-util"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v skopeo >/dev/null || missing="$$missing skopeo"; \
	command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	[ -x /usr/sbin/slapd ] || missing="$$missing slapd"; \
	command -v ldapadd >/dev/null || missing="$$missing ldap-utils"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Debian packages the benchmarks drive (README "Benchmarks"): the real registry, and
# wrk as the load generator that measures the registry's own ceiling; skopeo, which the
# replication benchmark races.
bench-deps: dev-deps
	@missing=""; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	command -v skopeo >/dev/null || missing="$$missing skopeo"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Start the local PostgreSQL and Redis when they are installed but stopped.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "Starting PostgreSQL"; \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n1) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "Starting Redis"; \
	  $(SUDO) mkdir -p /var/lib/redis /var/log/redis; \
	  $(SUDO) redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/ci.log; \
	  for i in $$(seq 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379"; exit 1; }

# Debian's gettext: msgfmt compiles the translation catalogues (locale/ and each app's).
gettext:
	@command -v msgfmt >/dev/null || { \
	  echo "Installing Debian packages: gettext"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gettext; }

# The compiled catalogues (*.mo) are built here, not committed: every .po, root and apps.
messages: deps gettext
	$(PY) manage.py compilemessages --ignore '$(VENV)' --ignore var -v0

migrate: deps
	$(PY) manage.py migrate --noinput

# Wharf's own registry, unless REGISTRY_URL points at an existing one.
registry-binary:
	@command -v docker-registry >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
	  echo "Installing Debian's docker-registry (CNCF Distribution)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq docker-registry; \
	else \
	  echo "Wharf runs a local registry with Debian's docker-registry, which is not installed."; \
	  echo "Install it as root:  sudo apt-get install docker-registry"; \
	  echo "or use an existing registry:  REGISTRY_URL=http://host:5000 make run"; \
	  exit 1; \
	fi

# The gate in front of Wharf's own registry (README "The gate"): Debian's nginx-light has auth_request.
gate-binary:
	@command -v nginx >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
	  echo "Installing Debian's nginx-light (the gate in front of the registry)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx-light; \
	else \
	  echo "Wharf's gate runs Debian's nginx, which is not installed."; \
	  echo "Install it as root:  sudo apt-get install nginx-light"; \
	  echo "or run without the gate:  WHARF_GATE_URL= make run"; \
	  exit 1; \
	fi

# `serve` creates the first admin, prints the banner (URL, login, push, seed_demo) and
# starts the Procfile's processes with honcho; it prints the banner again once the
# web server answers.
run: deps messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	@if [ -z "$$REGISTRY_URL" ]; then \
	  $(MAKE) --no-print-directory registry-binary && \
	  echo "Registry config: $$($(PY) manage.py registry_config)" && \
	  if [ "$${WHARF_GATE_URL-unset}" != "" ]; then \
	    $(MAKE) --no-print-directory gate-binary && \
	    echo "Gate config: $$($(PY) manage.py gate_config)" && \
	    exec $(PY) manage.py serve web worker registry gate; \
	  else \
	    exec $(PY) manage.py serve web worker registry; \
	  fi; \
	else \
	  exec $(PY) manage.py serve web worker; \
	fi

# The whole suite, real services included, once per database: the same tests, the
# database chosen by DATABASE_URL (unset = the embedded SQLite default). Both run even
# if the first fails; exit code 5 (no tests ran) fails too. TEST_PARALLEL=1 (the
# default) runs the two databases at the same time, each writing its own log under
# var/test-logs/ (printed whole when both have finished): the suites share no state
# (PostgreSQL + Redis vs a SQLite file and local cache under var/test-sqlite, servers on
# free ports), and each is one pytest process that keeps one core busy. Measured on the
# same 2-core machine the same day: side by side the pair took 30.6 min (PostgreSQL
# 1,838 s, SQLite 1,346 s); one after the other PostgreSQL alone took 2,083 s before
# SQLite started. TEST_PARALLEL=0 runs them one after the other with the output streamed.
TEST_DATABASES ?= postgresql sqlite
TEST_PARALLEL ?= 1
TEST_LOGS := var/test-logs
PYTEST := $(PY) -m pytest -p no:cacheprovider
ON_POSTGRESQL := DATABASE_URL=$(TEST_DATABASE_URL) CACHE_URL=$(TEST_REDIS)/1 CELERY_BROKER_URL=$(TEST_REDIS)/2
ON_SQLITE := env -u DATABASE_URL -u CACHE_URL -u CELERY_BROKER_URL WHARF_VAR_DIR=$(CURDIR)/var/test-sqlite

test: dev-deps system-test-deps services messages
	@failed=""; \
	if [ "$(TEST_PARALLEL)" = 1 ]; then \
	  mkdir -p $(TEST_LOGS); \
	  for db in $(TEST_DATABASES); do \
	    ( start=$$(date +%s); \
	      case $$db in postgresql) $(ON_POSTGRESQL) $(PYTEST) $(PYTEST_ARGS);; sqlite) $(ON_SQLITE) $(PYTEST) $(PYTEST_ARGS);; \
	        *) echo "unknown database $$db"; false;; esac > $(TEST_LOGS)/$$db.log 2>&1; echo $$? > $(TEST_LOGS)/$$db.rc; \
	      echo "== the suite on $$db took $$(( $$(date +%s) - start )) s" >> $(TEST_LOGS)/$$db.log ) & \
	  done; \
	  echo "== running the suite on $(TEST_DATABASES) at the same time (logs in $(TEST_LOGS)/)"; \
	  wait; \
	  for db in $(TEST_DATABASES); do \
	    echo "==================== $$db ===================="; cat $(TEST_LOGS)/$$db.log; \
	    [ "$$(cat $(TEST_LOGS)/$$db.rc)" = 0 ] || failed="$$failed $$db"; \
	  done; \
	else \
	  for db in $(TEST_DATABASES); do \
	    start=$$(date +%s); \
	    $(MAKE) --no-print-directory test-$$db || failed="$$failed $$db"; \
	    echo "== the suite on $$db took $$(( $$(date +%s) - start )) s"; \
	  done; \
	fi; \
	if [ -n "$$failed" ]; then echo "== FAILED on:$$failed"; exit 1; fi

test-postgresql: dev-deps system-test-deps services messages
	$(ON_POSTGRESQL) $(PYTEST) $(PYTEST_ARGS)

test-sqlite: dev-deps system-test-deps messages
	$(ON_SQLITE) $(PYTEST) $(PYTEST_ARGS)

test-fast: dev-deps services messages
	$(ON_POSTGRESQL) $(PYTEST) -m "not slow and not browser" $(PYTEST_ARGS)

test-slow: dev-deps system-test-deps services messages
	$(ON_POSTGRESQL) $(PYTEST) -m "slow or browser" $(PYTEST_ARGS)

lint: dev-deps
	$(VENV)/bin/ruff check .

typecheck: dev-deps
	$(VENV)/bin/mypy .

check: lint typecheck test

clean:
	rm -rf $(VENV) var/staticfiles test-artifacts
	find . -path ./$(VENV) -prune -o -name '*.mo' -print -delete
