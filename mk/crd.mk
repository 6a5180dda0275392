# The compact ProwJob schema the package carries, derived from Prow's CRD (see its SOURCE.md).
CRD_YAML ?= ../shared/fixtures/prow/crd/prowjob_customresourcedefinition.yaml

.PHONY: crd-schema

## crd-schema: regenerate gql/prow_graphql/prow/data/prowjob_schema.json from Prow's CRD
crd-schema: $(VENV)/.dev-installed
	$(BIN)/python scripts/compact_crd.py --crd $(CRD_YAML) --output gql/prow_graphql/prow/data/prowjob_schema.json
