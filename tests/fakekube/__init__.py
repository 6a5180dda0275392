"""A wire-compatible fake Kubernetes API server for prowjobs.prow.k8s.io/v1 (test double).

`FakeKubeServer` serves over real sockets on 127.0.0.1; see server.py for the state and fault API.
Created and patched ProwJobs are pruned, defaulted and validated with Prow's CRD (schema.py), and
tests/integration/test_fake_vs_real.py checks that it answers as a real kube-apiserver does.
"""

from .app import RecordedRequest
from .server import FakeKubeServer
from .status import ApiError

__all__ = ["ApiError", "FakeKubeServer", "RecordedRequest"]
