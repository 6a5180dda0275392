"""A wire-compatible fake Kubernetes API server for prowjobs.prow.k8s.io/v1 (test double).

`FakeKubeServer` serves over real sockets on 127.0.0.1; see server.py for the state and fault API.
"""

from .app import RecordedRequest
from .server import FakeKubeServer
from .status import ApiError

__all__ = ["ApiError", "FakeKubeServer", "RecordedRequest"]
