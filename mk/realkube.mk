# The real Kubernetes API server the tests use (../shared/tools/realkube) needs etcd on PATH.
# Installed from Debian's packages when ../shared is beside the clone (as in CI) and etcd is
# missing; without ../shared the tests that need it skip and nothing is installed.

REALKUBE := ../shared/tools/realkube/realkube

.PHONY: realkube-deps

## realkube-deps: install Debian's etcd-server for the real-API-server tests when it is missing
realkube-deps:
	@if [ -x $(REALKUBE) ] && ! command -v etcd >/dev/null; then \
	  echo "installing etcd-server (Debian package) for the real API server tests"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server; \
	fi

unit: realkube-deps
