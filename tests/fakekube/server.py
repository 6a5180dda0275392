"""FakeKubeServer: the fake API server under uvicorn on 127.0.0.1, with state access for tests,
fault injection, request counters and a kubeconfig writer.

The server runs as a task on the caller's event loop, so every method here is a plain call on
shared state (no locks needed) and tests can await the effects over real sockets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import yaml

from . import status as st
from .app import FakeKubeApp, RecordedRequest, StreamCut
from .pod_logs import FakePodLogs
from .state import FakeKubeState, Obj

_UVICORN_ERRORS = logging.getLogger("uvicorn.error")


class _DropStreamCuts(logging.Filter):
    """Hide uvicorn's traceback for the exception we raise on purpose to cut a stream."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamCut))


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave SIGINT/SIGTERM to pytest; this server is stopped by its owner.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


class FakeKubeServer:
    """A wire-compatible slice of kube-apiserver for prowjobs.prow.k8s.io/v1.

    Use as `async with FakeKubeServer() as kube:`; `kube.url`, `kube.write_kubeconfig(path)`.
    Direct state methods act in `namespace` unless told otherwise.
    """

    def __init__(
        self,
        *,
        namespace: str = "default",
        token: str | None = None,
        history_limit: int = 1000,
        bookmark_interval: float | None = 60.0,
        validate: bool = True,
        first_resource_version: int = 1000,
    ) -> None:
        self.namespace = namespace
        self.token = token or secrets.token_urlsafe(16)
        self.state = FakeKubeState(
            history_limit=history_limit,
            first_resource_version=first_resource_version,
            validate=validate,
        )
        self.app = FakeKubeApp(self.state, token=self.token, bookmark_interval=bookmark_interval)
        self.port: int | None = None
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._log_filter = _DropStreamCuts()

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeKubeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeKubeServer was never started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port, or on the same port again after stop(); state is kept."""
        if self.running:
            return
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP, and without it every answer (headers, then body) waits ~40 ms for an ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self.port or 0))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=1,
            ws="none",
        )
        server = _Uvicorn(config)
        self._server = server
        _UVICORN_ERRORS.addFilter(self._log_filter)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="fakekube")
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._task  # re-raises why uvicorn could not start

    async def stop(self) -> None:
        """Cut open watches and stop listening (clients get connection refused); keep state."""
        if self._server is None or self._task is None:
            return
        self.cut_watches()
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server = None
            self._task = None
            _UVICORN_ERRORS.removeFilter(self._log_filter)

    # ---- kubeconfig ----------------------------------------------------------------------

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        token: str | None = None,
        namespace: str | None = None,
        context: str = "fakekube",
        exec_plugin: dict[str, Any] | None = None,
    ) -> Path:
        """Write a kubeconfig for this server (bearer token auth, or the `exec` credential
        plugin section given); returns the path."""
        user: dict[str, Any] = (
            {"exec": exec_plugin} if exec_plugin is not None else {"token": token or self.token}
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fakekube", "cluster": {"server": self.url}}],
            "users": [{"name": "fakekube", "user": user}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": "fakekube",
                        "user": "fakekube",
                        "namespace": namespace or self.namespace,
                    },
                }
            ],
            "current-context": context,
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    # ---- direct state access (what a controller would do through the API) ----------------

    @property
    def objects(self) -> dict[str, Obj]:
        """Copies of the ProwJobs in the default namespace, by name."""
        return self.state.objects(self.namespace)

    @property
    def resource_version(self) -> str:
        return str(self.state.resource_version)

    def create_object(self, obj: Obj, *, namespace: str | None = None) -> Obj:
        """Create server-side (emits ADDED); raises ApiError like the API would answer."""
        return self.state.create(namespace or self.namespace, obj)

    def patch_object(self, name: str, patch: Obj, *, namespace: str | None = None) -> Obj:
        """Merge-patch server-side (emits MODIFIED)."""
        return self.state.merge_patch(namespace or self.namespace, name, patch)

    def set_status(self, name: str, patch: Obj, *, namespace: str | None = None) -> Obj:
        """Merge `patch` into the object's status, as plank would (emits MODIFIED)."""
        return self.patch_object(name, {"status": patch}, namespace=namespace)

    @property
    def pod_logs(self) -> FakePodLogs:
        """Pods' container logs served at pods/{pod}/log (a PodLogWriter)."""
        return self.app.pod_logs

    def delete(self, name: str, *, namespace: str | None = None) -> Obj:
        """Delete server-side (emits DELETED)."""
        return self.state.delete(namespace or self.namespace, name)

    # ---- faults --------------------------------------------------------------------------

    def cut_watches(self) -> int:
        """Drop every open watch connection mid-stream (no terminating chunk); returns how many."""
        watchers = self.state.watchers
        for watcher in watchers:
            watcher.queue.put_nowait(("cut", None))
        return len(watchers)

    def expire_watches(self) -> int:
        """Send each open watch a 410 Expired ERROR event and end it; returns how many."""
        watchers = self.state.watchers
        for watcher in watchers:
            expired = st.too_old_resource_version(watcher.last_rv, self.state.floor)
            watcher.queue.put_nowait(("event", {"type": "ERROR", "object": expired}))
            watcher.queue.put_nowait(("end", None))
        return len(watchers)

    def stall_watches(self, stalled: bool = True) -> None:
        """Open (and new) watches go silent and ignore their timeout, like a dead connection."""
        self.state.stall_new_watches = stalled
        for watcher in self.state.watchers:
            watcher.stalled = stalled

    def rotate_token(self, token: str) -> None:
        """Accept only `token` from now on (the old one is answered 401), like an expired one."""
        self.token = self.app.token = token

    def lag_watch_cache(self, behind: bool = True) -> None:
        """New watches from a resourceVersion answer 504 "Too large resource version" (as from a
        replica whose watch cache lags, or after an etcd restore) until turned off."""
        self.state.watch_cache_behind = behind

    def send_bookmarks(self) -> int:
        """Send a BOOKMARK now on every watch that allowed bookmarks; returns how many."""
        watchers = [w for w in self.state.watchers if w.bookmarks]
        for watcher in watchers:
            watcher.queue.put_nowait(("event", self.state.bookmark()))
        return len(watchers)

    def fail_next(self, n: int = 1, *, status: int = 500, verb: str | None = None) -> None:
        """The next `n` API requests (of `verb`, if given) answer `status` with a Status body."""
        faults = self.app.faults
        faults.fail_remaining, faults.fail_status, faults.fail_verb = n, status, verb

    def cut_next_lists(self, n: int = 1) -> None:
        """The next `n` lists send half their body, then drop the connection."""
        self.app.faults.cut_lists = n

    def delay(self, seconds: float) -> None:
        """Hold every API request `seconds` before answering (0 turns it off)."""
        self.app.faults.delay = seconds

    def compact(self) -> None:
        """Forget the event history: older resourceVersions and continue tokens get 410."""
        self.state.compact()

    # ---- observation ---------------------------------------------------------------------

    @property
    def counts(self) -> collections.Counter[str]:
        """Authenticated requests by verb: create, get, list, watch, patch, update, delete."""
        return collections.Counter(self.app.counts)

    def reset_counts(self) -> None:
        self.app.counts.clear()
        self.app.requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.app.requests)

    @property
    def open_watches(self) -> int:
        return len(self.state.watchers)

    async def wait_for(self, predicate: Callable[[], Any], *, within: float = 5.0) -> None:
        """Wait until `predicate()` is true, e.g. `lambda: kube.open_watches == 1`.

        Polls every few ms: watch registration happens inside uvicorn's request task, which offers
        no event to await.
        """
        async with asyncio.timeout(within):
            while not predicate():
                await asyncio.sleep(0.005)
