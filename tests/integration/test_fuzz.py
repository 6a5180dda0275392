"""Fuzzing over real sockets: generated malformed inputs against /graphql and /manual-trigger.

One server (memory backend, no dry run) serves the whole module from a background thread with its
own event loop; Hypothesis drives synchronous tests through one `httpx.Client`. Invariants after
every input: no 5xx, and the server still answers /healthz. After each test: it still answers a
GraphQL query, and no ProwJob exists.
No input names a configured job anywhere (nor contains an escape that could spell one), so
"nothing created" is a true invariant rather than luck.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prow_graphql.settings import Settings
from tests.harness import EXAMPLE, RunningGateway, example_settings, serve, wait_ready

T = TypeVar("T")

# A failing example may be huge; Hypothesis then warns about its repr, which must not hide it.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Examples per test; they add up to 2,400 generated inputs.
EXAMPLES = {
    "graphql_documents": 600,
    "graphql_trigger_input": 600,
    "rest_json": 600,
    "rest_query": 300,
    "raw_bodies": 300,
}


def configured_job_names() -> frozenset[str]:
    """Every job name in the example config: inputs must never contain one."""
    names: set[str] = set()
    for path in (EXAMPLE / "jobs").rglob("*.yaml"):
        data = yaml.safe_load(path.read_text()) or {}
        for by_repo in (data.get("presubmits") or {}, data.get("postsubmits") or {}):
            names.update(job["name"] for jobs in by_repo.values() for job in jobs)
        names.update(job["name"] for job in data.get("periodics") or ())
    return frozenset(names)


JOB_NAMES = configured_job_names()


def harmless(value: object) -> bool:
    """True if no string inside `value` could name a configured job."""
    if isinstance(value, str):
        return "\\u" not in value and not any(name in value for name in JOB_NAMES)
    if isinstance(value, bytes):
        return b"\\u" not in value and not any(name.encode() in value for name in JOB_NAMES)
    if isinstance(value, dict):
        return all(harmless(k) and harmless(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(harmless(v) for v in value)
    return True


class ServerThread:
    """A gateway under uvicorn on its own event loop in a daemon thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fuzz-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.gateway: RunningGateway | None = None

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(20) or self.gateway is None:
            raise RuntimeError(f"the fuzz server did not start: {self._error!r}")
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        if self._error is not None:
            raise RuntimeError("the fuzz server failed") from self._error

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._settings) as gateway:
            await wait_ready(gateway)
            self.gateway = gateway
            self._ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(example_settings()) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def check(server: ServerThread, http: httpx.Client) -> Iterator[Checker]:
    """A Checker; afterwards, asserts that no ProwJob exists (store and informer)."""
    checker = Checker(http)
    yield checker
    assert server.gateway is not None
    store = server.gateway.app.state.gateway.store
    assert server.call(store.list()).items == [], "a fuzz input created a ProwJob"
    body = http.post("/graphql", json={"query": "{ prowJobs { totalCount } }"}).json()
    assert body["data"]["prowJobs"]["totalCount"] == 0


class Checker:
    """Sends one input and asserts the invariants; counts what it sent."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.sent = 0
        self.statuses: dict[int, int] = {}

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; assert no 5xx and that the server still answers /healthz."""
        response = self.http.request(method, path, **kwargs)
        self.sent += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text[:500])
        alive = self.http.get("/healthz")
        assert alive.status_code == 200 and alive.json() == {"ok": True}, alive.text
        return response


# --- strategies ------------------------------------------------------------------------------

surrogates = st.characters(categories=["Cs"])
any_text = st.text(max_size=40) | st.text(st.characters() | surrogates, max_size=20)


# Named functions rather than lambdas keep Hypothesis's reports cheap and readable.
def _repeat(n: int, char: str) -> str:
    return char * n


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4)


def _nested_lists(n: int) -> Any:
    return json.loads("[" * n + "]" * n)


def _raw_deep_json(n: int, lists: bool) -> bytes:
    return (b"[" * n + b"]" * n) if lists else (b'{"a":' * n + b"1" + b"}" * n)


def _graphql_body_around(variable: bytes) -> bytes:
    return b'{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + variable + b"}}"


def _deep_selection(n: int) -> str:
    return "{ __schema { types { " + "ofType { " * n + "name" + " }" * n + " } } }"


def _unbalanced(n: int) -> str:
    return "{ a " * n + "}" * (n // 2)


def _aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"


def _fragment_cycle(n: int) -> str:
    chain = " ".join(f"fragment f{i} on Query {{ ...f{i + 1} }}" for i in range(n))
    return f"query {{ ...f0 }} {chain} fragment f{n} on Query {{ ...f0 }}"


def _trigger_literal(org: str, job: str, kind: str) -> str:
    org_literal = json.dumps(org, ensure_ascii=False)
    job_literal = json.dumps(job, ensure_ascii=False)
    return (
        f'mutation {{ triggerJob(input: {{org: {org_literal}, repo: "widgets", '
        f'job: {job_literal}, type: {kind}, baseRef: "main", pullRequest: {{number: 1}}}}) '
        "{ __typename } }"
    )


def _mostly_small(k: int) -> st.SearchStrategy[Any]:
    return huge_text if k == 0 else nested_a_little if k == 1 else json_values


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


huge_text = st.builds(_repeat, st.integers(1_000, 300_000), st.sampled_from("xé€🙂"))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | any_text
)
json_values = st.recursive(
    scalars,
    _containers,
    max_leaves=12,
)
nested_a_little = st.integers(2, 200).map(_nested_lists)
# Mostly small values; one in twenty is a huge string, one in twenty nested lists.
garbage = st.integers(0, 19).flatmap(_mostly_small)
# Nesting deeper than Python's json module can (de)serialize: sent as raw bytes.
deep_json = st.builds(_raw_deep_json, st.integers(500, 100_000), st.booleans())
deep_graphql_body = deep_json.map(_graphql_body_around)

# Near-misses for each REST field, mixed with garbage of every type.
near_names = st.sampled_from(
    ["pull-widgets-unti", "PULL-WIDGETS-UNIT", "post-widgets", "", " ", "../../etc"]
)
REST_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "org": st.sampled_from(["example-org", "Example-Org", "x" * 300, "bad org"]) | garbage,
    "repo": st.sampled_from(["widgets", "widgets/../x", ""]) | garbage,
    "base_ref": st.sampled_from(["main", "release-1.0", "a..b", "-x"]) | garbage,
    "prowtype": st.sampled_from(["presubmit", "postsubmit", "PRESUBMIT", "periodic", "batch"])
    | garbage,
    "prowjob": near_names | garbage,
    "pullrequest": st.sampled_from([0, -1, 1, 42, "42", "abc", 2**31, 1e308, True, "٣"]) | garbage,
    "user": st.sampled_from(["alice", "a\nb", "x" * 300]) | garbage,
}
# A valid request for a job that does not exist, with up to two fields replaced or removed:
# these get past validation to the job lookup.
VALID_REST = {
    "org": "example-org", "repo": "widgets", "base_ref": "main", "prowtype": "presubmit",
    "prowjob": "pull-widgets-unti", "pullrequest": 42, "user": "alice",
}  # fmt: skip
VALID_TRIGGER = {
    "org": "example-org", "repo": "widgets", "job": "pull-widgets-unti", "type": "PRESUBMIT",
    "baseRef": "main", "pullRequest": {"number": 42}, "author": "alice",
}  # fmt: skip


@st.composite
def near_valid(
    draw: st.DrawFn, valid: dict[str, Any], values: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """`valid` with up to two fields changed to a drawn value or removed; the job stays unknown."""
    result = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(values)), max_size=2, unique=True)):
        if draw(st.booleans()):
            result.pop(name, None)
        else:
            result[name] = draw(values[name])
    return result


near_valid_rest = near_valid(VALID_REST, REST_FIELD_VALUES)
rest_bodies = (
    st.fixed_dictionaries({}, optional=dict(REST_FIELD_VALUES))
    | near_valid_rest
    | st.dictionaries(any_text, json_values, max_size=6)
)

query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
query_pairs = st.lists(
    st.tuples(st.sampled_from([*REST_FIELD_VALUES, "x", ""]) | query_text, query_text),
    max_size=10,
)

GRAPHQL_WORDS = [
    "{", "}", "(", ")", "[", "]", ":", "$", "!", "=", ",", "...", "@", "|", "&",
    "query", "mutation", "subscription", "fragment", "on", "schema", "extend", "directive",
    "triggerJob", "abortProwJob", "rerunProwJob", "prowJobs", "prowJob", "repo", "jobs", "config",
    "input", "name", "type", "org", "job", "pullRequest", "dryRun", "__typename", "__schema",
    "__type", "@include", "@skip", "@defer", "if:", "true", "false", "null", '"x"', '"""', "1",
    "-1", "1.5e300", "PRESUBMIT", "POSTSUBMIT", "#", "\n", "\x00",
]  # fmt: skip
token_soup = st.lists(st.sampled_from(GRAPHQL_WORDS) | any_text, max_size=40).map(" ".join)
deep_selection = st.integers(1, 400).map(_deep_selection)
unbalanced = st.integers(1, 20_000).map(_unbalanced)
many_aliases = st.integers(10, 6_000).map(_aliases)
many_fragments = st.integers(2, 500).map(_fragment_cycle)
trigger_with_literals = st.builds(
    _trigger_literal,
    any_text,
    near_names | any_text,
    st.sampled_from(["PRESUBMIT", "POSTSUBMIT", "PERIODIC", "BATCH", "WEEKLY", '"PRESUBMIT"']),
)
documents = (
    any_text
    | token_soup
    | deep_selection
    | unbalanced
    | many_aliases
    | many_fragments
    | trigger_with_literals
    | huge_text
)

TRIGGER = """
mutation Trigger($input: TriggerJobInput!) {
  triggerJob(input: $input) {
    __typename
    ... on TriggerJobSuccess { dryRun prowJob { name } }
    ... on Error { message }
  }
}
"""
TRIGGER_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "org": st.sampled_from(["example-org", ""]) | garbage,
    "repo": st.sampled_from(["widgets", ""]) | garbage,
    "job": near_names | garbage,
    "type": st.sampled_from(["PRESUBMIT", "POSTSUBMIT", "PERIODIC", "BATCH", "presubmit"])
    | garbage,
    "baseRef": st.sampled_from(["main", "release-1.0", "a b"]) | garbage,
    "pullRequest": st.fixed_dictionaries(
        {}, optional={"number": garbage, "sha": garbage, "author": garbage}
    )
    | garbage,
    "author": garbage,
    "dryRun": st.booleans() | garbage,
    "idempotencyKey": garbage,
    "env": st.dictionaries(any_text, any_text, max_size=3) | garbage,
}
trigger_inputs = (
    st.fixed_dictionaries({}, optional=dict(TRIGGER_FIELD_VALUES))
    | near_valid(VALID_TRIGGER, TRIGGER_FIELD_VALUES)
    | st.dictionaries(any_text, json_values, max_size=5)
)
trigger_variables = st.fixed_dictionaries({"input": trigger_inputs | garbage}) | json_values

content_types = st.sampled_from(
    ["application/json", "application/graphql", "text/plain", "multipart/form-data",
     "application/x-www-form-urlencoded", "application/json; charset=utf-16"]
)  # fmt: skip


# --- tests -----------------------------------------------------------------------------------


def as_json(value: object) -> dict[str, Any]:
    """httpx keyword arguments for a JSON body that may hold NaN or lone surrogates."""
    return {
        "content": json.dumps(value).encode("ascii"),
        "headers": {"content-type": "application/json"},
    }


def run(check: Checker, name: str, test: Any) -> None:
    """Run a Hypothesis test for EXAMPLES[name] inputs; assert every one was sent."""
    settings(FUZZ, max_examples=EXAMPLES[name])(test)()
    assert check.sent >= EXAMPLES[name], (check.sent, check.statuses)
    assert not any(status >= 500 for status in check.statuses), check.statuses


def test_graphql_survives_random_documents(check: Checker) -> None:
    @given(
        document=documents,
        variables=json_values,
        operation=st.none() | any_text,
        method=st.sampled_from(["POST", "POST", "POST", "GET"]),
    )
    def one(document: str, variables: Any, operation: str | None, method: str) -> None:
        assume(harmless(document) and harmless(variables) and harmless(operation))
        if method == "GET":
            # GET queries only; URLs are bounded by the HTTP parser anyway.
            query = _no_surrogates(document[:4000])
            response = check.send("GET", "/graphql", params={"query": query})
        else:
            body = {"query": document, "variables": variables, "operationName": operation}
            response = check.send("POST", "/graphql", **as_json(body))
        if response.status_code == 200:
            assert set(response.json()) & {"data", "errors"}, response.text[:300]

    run(check, "graphql_documents", one)


def test_graphql_trigger_job_survives_random_variables(check: Checker) -> None:
    @given(variables=trigger_variables)
    def one(variables: Any) -> None:
        assume(harmless(variables))
        body = {"query": TRIGGER, "variables": variables}
        response = check.send("POST", "/graphql", **as_json(body))
        if response.status_code == 200:
            result: dict[str, Any] = (response.json().get("data") or {}).get("triggerJob") or {}
            # No input names a configured job, so not even a dry run can succeed.
            assert result.get("__typename") != "TriggerJobSuccess", result

    run(check, "graphql_trigger_input", one)


def test_rest_survives_random_json(check: Checker) -> None:
    @given(body=st.one_of(near_valid_rest, near_valid_rest, rest_bodies, garbage))
    def one(body: Any) -> None:
        assume(harmless(body))
        response = check.send("POST", "/manual-trigger", **as_json(body))
        assert 400 <= response.status_code < 500, response.text[:300]
        answer = response.json()
        assert answer["success"] is False and isinstance(answer["message"], str), answer

    run(check, "rest_json", one)


def test_rest_survives_random_query_strings(check: Checker) -> None:
    @given(pairs=query_pairs, body=st.none() | rest_bodies)
    def one(pairs: list[tuple[str, str]], body: dict[str, Any] | None) -> None:
        assume(harmless(pairs) and harmless(body))
        extra = as_json(body) if body is not None else {}
        response = check.send("POST", "/manual-trigger", params=pairs, **extra)
        assert 400 <= response.status_code < 500, response.text[:300]
        assert response.json()["success"] is False

    run(check, "rest_query", one)


def test_raw_bodies_of_any_content_type(check: Checker) -> None:
    @given(
        raw=st.binary(max_size=2_000) | any_text.map(_utf8) | deep_json | deep_graphql_body,
        path=st.sampled_from(["/graphql", "/manual-trigger"]),
        content_type=content_types,
    )
    def one(raw: bytes, path: str, content_type: str) -> None:
        assume(harmless(raw))
        check.send("POST", path, content=raw, headers={"content-type": content_type})

    run(check, "raw_bodies", one)


def _no_surrogates(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")
