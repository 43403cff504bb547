# Two entry points: `make run` (the whole appliance, foreground) and `make test` (the whole test suite).
# Both install what they need first: Debian packages (as root or via sudo), then the virtualenv.

VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := nginx-light libnginx-mod-http-lua lua-resty-core libnginx-mod-stream redis-server \
	postgresql wrk haproxy chromium openssl curl ca-certificates prometheus pebble testssl.sh nghttp2-client \
	lua-cjson hey
STAMP := $(VENV)/.installed

.PHONY: run test lint bench packages venv clean-state

packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $(STAMP)

venv: packages $(STAMP)

run: venv
	$(PY) -m appliance.launcher run

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest || [ $$? -eq 5 ]  # 5 = nothing collected, not a failure

bench: venv
	$(PY) -m loadtests.suite
