// prow-graphql's live ProwJob dashboard: the reference example for dashboard authors.
//
//   1. read the filters from the URL (?org=…&repo=…&job=…&state=…),
//   2. subscribe to `prowJobEvents` over graphql-transport-ws (a plain WebSocket),
//   3. load the most recent ProwJobs with the `prowJobs` query over HTTP,
//   4. redraw the table on every event (and every second, for running durations).
//
// No framework, no build step, no dependency: plain DOM calls.
"use strict";

const ENDPOINT = new URL(document.currentScript.dataset.endpoint, location.href);
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
for (const key of ["org", "repo", "job"]) {
  if (params.get(key)) filter[key] = params.get(key);
}
// The state filter is applied here, not by the server, so that a job leaving the chosen state
// (pending → success) leaves the table instead of staying stale.
const stateFilter = (params.get("state") || "").toUpperCase();

const form = document.getElementById("filters");
for (const [key, value] of params) {
  if (form.elements[key]) form.elements[key].value = key === "state" ? value.toUpperCase() : value;
}
form.addEventListener("submit", () => {
  for (const field of form.elements) if (!field.value) field.disabled = true; // short URLs
});

// --- GraphQL over HTTP (queries) --------------------------------------------------------------

async function query(document, variables) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

// --- GraphQL over WebSocket (subscriptions) ---------------------------------------------------
// The graphql-transport-ws protocol in a nutshell: send connection_init, wait for
// connection_ack, send subscribe {id, payload: {query, variables}}, then receive next {id,
// payload} until complete {id}; answer ping with pong. Spec:
// https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md

function subscribe(document, variables, { onReady, onNext, onClose }) {
  const url = new URL(ENDPOINT);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url, "graphql-transport-ws");
  const send = (message) => ws.send(JSON.stringify(message));

  ws.onopen = () => send({ type: "connection_init", payload: {} });
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "connection_ack":
        send({ id: "1", type: "subscribe", payload: { query: document, variables } });
        onReady();
        break;
      case "ping":
        send({ type: "pong" });
        break;
      case "next":
        onNext(message.payload);
        break;
      case "error": // a GraphQL error in the subscription document: no point retrying
        onClose(`subscription failed: ${message.payload[0].message}`, false);
        ws.onclose = null;
        ws.close(1000);
        break;
      case "complete":
        ws.close(1000);
        break;
    }
  };
  ws.onclose = (event) => onClose(`connection closed (${event.code})`, true);
}

// --- state: ProwJobs by name ------------------------------------------------------------------

const jobs = new Map();
const changed = new Set(); // names seen in events since the last (re)connect

function remember(job) {
  if (stateFilter && job.state !== stateFilter) jobs.delete(job.name);
  else jobs.set(job.name, job);
}

// --- rendering ----------------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function linkCell(href, text) {
  const td = document.createElement("td");
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.append(a);
  }
  return td;
}

function duration(job) {
  let seconds = job.durationSeconds;
  if (seconds == null && job.startTime) seconds = (Date.now() - Date.parse(job.startTime)) / 1000;
  if (seconds == null) return "";
  seconds = Math.max(0, Math.round(seconds));
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

function row(job) {
  const tr = document.createElement("tr");
  tr.dataset.name = job.name;
  const pull = job.refs?.pulls?.[0];
  tr.append(
    cell(job.state, `state ${job.state.toLowerCase()}`),
    cell(job.job),
    cell(job.refs ? `${job.refs.org}/${job.refs.repo}` : ""),
    linkCell(pull?.link, pull ? `#${pull.number}` : ""),
    cell(job.buildId),
    cell(duration(job)),
    linkCell(job.logLink || job.url, "logs"),
  );
  return tr;
}

function render() {
  const newestFirst = [...jobs.values()].sort((a, b) =>
    (b.startTime || "").localeCompare(a.startTime || ""),
  );
  document.querySelector("#jobs tbody").replaceChildren(...newestFirst.slice(0, MAX_ROWS).map(row));
  document.getElementById("empty").hidden = jobs.size > 0;
}

function setStatus(status, text) {
  const element = document.getElementById("status");
  element.dataset.status = status;
  element.textContent = text;
}

// --- start: subscribe, then load; reconnect with backoff ---------------------------------------

let retryDelay = 1000;

function start() {
  setStatus("connecting", "connecting…");
  subscribe(JOB_EVENTS, { filter }, {
    async onReady() {
      retryDelay = 1000;
      jobs.clear();
      changed.clear();
      try {
        const state = stateFilter ? { state: stateFilter } : {};
        const data = await query(RECENT_JOBS, { filter: { ...filter, ...state }, first: MAX_ROWS });
        // Events that arrived while the query ran are newer than its answer: they win.
        for (const job of data.prowJobs.nodes) if (!changed.has(job.name)) remember(job);
        setStatus("live", "live");
      } catch (err) {
        setStatus("error", `cannot load ProwJobs: ${err.message}`);
      }
      render();
    },
    onNext(payload) {
      const event = payload.data.prowJobEvents;
      changed.add(event.prowJob.name);
      if (event.type === "DELETED") jobs.delete(event.prowJob.name);
      else remember(event.prowJob);
      render();
    },
    onClose(reason, retry) {
      if (!retry) return setStatus("error", reason);
      setStatus("offline", `${reason}; retrying in ${retryDelay / 1000}s`);
      setTimeout(start, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    },
  });
}

start();
setInterval(render, 1000);
