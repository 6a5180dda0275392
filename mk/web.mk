# Web assets and the browser for the browser tests (included by the Makefile).
#
# `make assets` fetches GraphiQL, React, ReactDOM and graphql-ws from the npm registry (pinned by
# web/package-lock.json) and copies their browser bundles into gql/prow_graphql/web/static/vendor/, which is
# git-ignored and shipped in the wheel. A stamp file makes a second run free.
# `make browser-deps` installs Debian's chromium when it is missing (the browser tests drive it).

WEB_DIR := web
VENDOR := gql/prow_graphql/web/static/vendor
NPM_MODULES := $(WEB_DIR)/node_modules
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# source in node_modules -> name under $(VENDOR)
VENDOR_FILES := \
	react/umd/react.production.min.js:react.production.min.js \
	react/LICENSE:react.LICENSE \
	react-dom/umd/react-dom.production.min.js:react-dom.production.min.js \
	react-dom/LICENSE:react-dom.LICENSE \
	graphiql/graphiql.min.js:graphiql.min.js \
	graphiql/graphiql.min.css:graphiql.min.css \
	graphiql/LICENSE:graphiql.LICENSE \
	graphql-ws/umd/graphql-ws.min.js:graphql-ws.min.js \
	graphql-ws/LICENSE.md:graphql-ws.LICENSE

.PHONY: assets assets-if-npm browser-deps screenshot

## assets: fetch the self-hosted GraphiQL bundle from the npm registry (needs node + npm)
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json mk/web.mk
	@command -v npm >/dev/null || { echo "make assets: npm is required (install node.js)" >&2; exit 2; }
	cd $(WEB_DIR) && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	@for pair in $(VENDOR_FILES); do \
	  src=$${pair%%:*}; dst=$${pair#*:}; \
	  cp $(NPM_MODULES)/$$src $(VENDOR)/$$dst || exit 1; \
	done
	touch $@

## browser-deps: install Debian's chromium for the browser tests when it is missing
browser-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing chromium (Debian package) for the browser tests"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

## screenshot: retake docs/dashboard.png (the dashboard in headless chromium)
screenshot: assets browser-deps $(VENV)/.dev-installed
	$(BIN)/python -m tests.browser.screenshot docs/dashboard.png

## assets-if-npm: the assets when npm is there; otherwise GraphiQL's page says how to get them
assets-if-npm:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory assets; \
	else echo "note: npm not found; /graphql will ask for 'make assets' (the API works)"; fi

# The test suite opens GraphiQL in chromium; `make run` serves the assets when it can.
unit: assets browser-deps
run: assets-if-npm
