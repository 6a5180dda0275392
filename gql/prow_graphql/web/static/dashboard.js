// prow-graphql's live ProwJob list: the reference example for dashboard authors.
//
//   1. read the filters from the URL (?org=…&repo=…&job=…&state=…),
//   2. subscribe to `prowJobEvents` over graphql-transport-ws (a plain WebSocket),
//   3. once subscribed, load the most recent ProwJobs with the `prowJobs` query over HTTP,
//   4. redraw the table on every event (and every second, for running durations).
//
// No framework, no build step, no dependency: plain DOM calls. Shared helpers: common.js.
import {
  badge, duration, el, jobHref, keepAlive, link, logHref, query, seconds, setStatus, subscribe,
  AuthError,
} from "./common.js";

const MAX_ROWS = 100;
const JOB_FIELDS = `name job state buildId startTime durationSeconds logLink url
  refs { org repo pulls { number link } }`;
const RECENT_JOBS = `query RecentJobs($filter: ProwJobFilter, $first: Int!) {
  prowJobs(filter: $filter, first: $first) { nodes { ${JOB_FIELDS} } }
}`;
const JOB_EVENTS = `subscription JobEvents($filter: ProwJobFilter) {
  prowJobEvents(filter: $filter) { type prowJob { ${JOB_FIELDS} } }
}`;

// --- filters: the URL is the source of truth; the form submits back to it ------------------

const params = new URLSearchParams(location.search);
const filter = {};
for (const key of ["org", "repo", "job"]) if (params.get(key)) filter[key] = params.get(key);
// The state filter is applied here, not by the server, so that a job leaving the chosen state
// (pending → success) leaves the table instead of staying stale.
const stateFilter = (params.get("state") || "").toUpperCase();
const filtered = Object.keys(filter).length > 0 || stateFilter !== "";

const form = document.getElementById("filters");
for (const [key, value] of params) {
  if (form.elements[key]) form.elements[key].value = key === "state" ? value.toUpperCase() : value;
}
form.addEventListener("submit", () => {
  for (const field of form.elements) if (!field.value) field.disabled = true; // short URLs
});

// --- state: ProwJobs by name ------------------------------------------------------------------

const jobs = new Map();
const changed = new Set(); // names seen in events since the last (re)connect
let loaded = false;

function remember(job) {
  if (stateFilter && job.state !== stateFilter) jobs.delete(job.name);
  else jobs.set(job.name, job);
}

// --- rendering ----------------------------------------------------------------------------------

const td = (label, ...children) => el("td", { "data-label": label }, ...children);

function row(job) {
  const pull = job.refs?.pulls?.[0];
  const state = el("td", { className: `state ${job.state.toLowerCase()}` }, badge(job.state));
  return el(
    "tr",
    { dataset: { name: job.name } },
    state,
    td("Job", link(jobHref(job.job), job.job)),
    td("Repo", job.refs ? `${job.refs.org}/${job.refs.repo}` : ""),
    td("PR", link(pull?.link, pull ? `#${pull.number}` : "")),
    td("Build", job.buildId || ""),
    td("Duration", duration(seconds(job))),
    td("Logs", link(logHref(job), "logs")),
  );
}

function render() {
  const newestFirst = [...jobs.values()].sort((a, b) =>
    (b.startTime || "").localeCompare(a.startTime || ""),
  );
  document.querySelector("#jobs tbody").replaceChildren(...newestFirst.slice(0, MAX_ROWS).map(row));
  document.getElementById("loading").hidden = loaded;
  document.getElementById("jobs").hidden = !loaded || jobs.size === 0;
  const empty = document.getElementById("empty");
  empty.hidden = !loaded || jobs.size > 0;
  empty.textContent = filtered
    ? "No ProwJobs match these filters."
    : "No ProwJobs yet. Trigger one (triggerJob in GraphiQL, or `prow-graphql trigger`) and it appears here live.";
}

// --- start: subscribe, then load; keepAlive reconnects with backoff ----------------------------

keepAlive(({ ready, dropped }) => {
  setStatus("connecting", "connecting…");
  subscribe(JOB_EVENTS, { filter }, {
    async onReady() {
      ready();
      jobs.clear();
      changed.clear();
      try {
        const state = stateFilter ? { state: stateFilter } : {};
        const data = await query(RECENT_JOBS, { filter: { ...filter, ...state }, first: MAX_ROWS });
        // Events that arrived while the query ran are newer than its answer: they win.
        for (const job of data.prowJobs.nodes) if (!changed.has(job.name)) remember(job);
        loaded = true;
        setStatus("live", "live");
      } catch (err) {
        setStatus("error", `cannot load ProwJobs: ${err.message}`);
        if (err instanceof AuthError) dropped(err.message, { retry: true, auth: true });
      }
      render();
    },
    onNext(data) {
      const event = data.prowJobEvents;
      changed.add(event.prowJob.name);
      if (event.type === "DELETED") jobs.delete(event.prowJob.name);
      else remember(event.prowJob);
      render();
    },
    onClose: dropped,
  });
});

setInterval(render, 1000);
