# prow-graphql container image.
#
#   docker build -t prow-graphql .
#
# Two stages. The builder has the tools (pip, make, node/npm, grpcio-tools in the wheel build's
# isolated environment) and produces a virtualenv at
# /opt/venv; the final stage is a clean python:3.11-slim with that venv copied in: no compilers,
# no node, no package caches. Both stages use the same base image, so the venv's interpreter
# path (/usr/local/bin/python3.11) is valid in the final stage.

FROM python:3.11-slim AS builder

# Bytecode is written here on purpose: pip compiles the venv, so the read-only final image
# never needs to.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# make runs the `assets` target; node/npm fetch the self-hosted GraphiQL bundle from the npm
# registry. They exist in this stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# GraphiQL assets: `make assets` (mk/web.mk) runs `npm ci` in web/, pinned by
# web/package-lock.json, and copies the browser bundles into gql/prow_graphql/web/static/vendor/ (ignored by
# .dockerignore, so the image never ships a working tree's stale copy). The guard keeps this
# Dockerfile valid in a tree without that target: the image is then built without self-hosted
# GraphiQL and the build says so. Where the target exists, its failure fails the build.
RUN if make -n assets >/dev/null 2>&1; then \
        make assets; \
    else \
        echo "WARNING: no 'make assets' target; the image will not self-host GraphiQL" >&2; \
    fi

# Build the wheel. Building it generates gangway.proto's gRPC code (setup.py's
# build_gangway_proto step, with grpcio-tools from pyproject's build-system requires, installed
# by pip into an isolated build environment of this stage only) into
# prow_graphql/gangway/_generated/, which must be inside the wheel: the gateway never generates
# it at run time. If assets were built they must be inside it too (package-data), or the image
# would serve a GraphiQL page without its scripts.
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -c "import glob, sys, zipfile; names = zipfile.ZipFile(glob.glob('/dist/*.whl')[0]).namelist(); sys.exit(0 if 'prow_graphql/gangway/_generated/gangway_pb2_grpc.py' in names else 'prow_graphql/gangway/_generated/ is missing from the wheel: the build_gangway_proto step did not run')" \
 && if [ -d gql/prow_graphql/web/static/vendor ]; then \
        python -c "import glob, sys, zipfile; names = zipfile.ZipFile(glob.glob('/dist/*.whl')[0]).namelist(); sys.exit(0 if any(n.startswith('prow_graphql/web/static/vendor/') for n in names) else 'prow_graphql/web/static/vendor/ is missing from the wheel: add it to package-data')"; \
    fi

RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install /dist/*.whl


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# A named user for UID/GID 1000 (tools that look the user up find one); the numeric USER below
# lets Kubernetes verify runAsNonRoot without reading /etc/passwd.
RUN groupadd --gid 1000 prow-graphql \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin --no-log-init prow-graphql

# Owned by root and read-only to the service user.
COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 1000:1000

# 8080: GraphQL, REST, /healthz and /readyz. 9090: Prometheus /metrics. 32000: gangway gRPC.
EXPOSE 8080 9090 32000

ENTRYPOINT ["prow-graphql"]
# In-cluster defaults, matching deploy/base (Prow's ConfigMaps mounted at /etc/config and
# /etc/job-config). Kubernetes `args:` replace this list; the entrypoint stays.
CMD ["serve", "--backend=kube", "--config-path=/etc/config/config.yaml", "--job-config-path=/etc/job-config", "--host=0.0.0.0", "--port=8080", "--metrics-port=9090", "--grpc-port=32000"]
