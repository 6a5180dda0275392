# Third-party GraphQL clients the test suite drives against a live gateway (included by the
# Makefile): graphql-http's server audits, graphql-ws, graphql-sse and Apollo Client, from the npm
# registry, pinned by tests/clients/package-lock.json. Python's gql client comes with the dev extra.

CLIENTS_DIR := tests/clients

.PHONY: client-deps

## client-deps: install the JavaScript clients and graphql-http's audits for the test suite
client-deps: $(CLIENTS_DIR)/node_modules/.stamp

$(CLIENTS_DIR)/node_modules/.stamp: $(CLIENTS_DIR)/package.json $(CLIENTS_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "make client-deps: npm is required (install node.js)" >&2; exit 2; }
	cd $(CLIENTS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

unit: client-deps
