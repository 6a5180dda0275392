// One job's page: how it has been doing (jobStats), its last runs as an SVG duration chart and a
// table (jobRuns + prowJobEvents, live), and the live output of one run (prowJobLog).
import {
  badge, duration, el, keepAlive, link, logHref, query, seconds, setStatus, subscribe,
  AuthError,
} from "./common.js";

const JOB = document.body.dataset.job;
const RUNS = 30;
const RUN_FIELDS = `name state buildId startTime durationSeconds url logLink
  refs { baseRef pulls { number link } } extraRefs { baseRef }`;
const LOAD = `query Job($job: String!, $first: Int!) {
  jobRuns(job: $job, first: $first) {
    __typename ... on ProwJobConnection { nodes { ${RUN_FIELDS} } } ... on Error { message }
  }
  jobStats(job: $job) {
    __typename ... on Error { message }
    ... on JobStats { runs running passRate p50DurationSeconds p90DurationSeconds
                      lastFailure { name buildId startTime url logLink } }
  }
}`;
const EVENTS = `subscription Runs($filter: ProwJobFilter) {
  prowJobEvents(filter: $filter) { type prowJob { ${RUN_FIELDS} } }
}`;
const LOG = `subscription Log($name: String!) {
  prowJobLog(name: $name) { kind lines message storedLogUrl }
}`;

const runs = new Map();
let stats = null;
let selected = null; // the run whose log is shown
let closeLog = null;

// --- the chart: one bar per run, oldest left; height = duration; colour (and title) = state ---

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function chart(list) {
  const W = 600, H = 120, gap = 2;
  const longest = Math.max(1, ...list.map((r) => seconds(r) || 0));
  const width = W / RUNS - gap;
  const bars = list.map((run, i) => {
    const h = Math.max(2, ((seconds(run) || 0) / longest) * (H - 4));
    const title = `${run.state} · ${duration(seconds(run))} · build ${run.buildId || "–"}`;
    const bar = svg("rect", {
      x: i * (width + gap), y: H - h, width, height: h, rx: 1,
      class: `bar ${run.state.toLowerCase()}${run === selected ? " selected" : ""}`,
      "data-name": run.name, tabindex: 0, role: "button", "aria-label": title,
    }, svg("title", {}, title));
    bar.addEventListener("click", () => select(run));
    return bar;
  });
  const passRate = stats?.passRate == null ? "no finished runs" : `${Math.round(stats.passRate * 100)}% passed`;
  return svg("svg", {
    viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", id: "chart",
    "aria-label": `Durations of the last ${list.length} runs of ${JOB}; ${passRate}`,
  }, ...bars);
}

// --- rendering ----------------------------------------------------------------------------------

function newestFirst() {
  return [...runs.values()].sort((a, b) => (b.startTime || "").localeCompare(a.startTime || ""));
}

function statTile(label, value, id) {
  return el("div", { className: "tile", id }, el("span", { className: "label" }, label), el("b", {}, value));
}

function started(time) {
  if (!time) return "";
  const date = new Date(time);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleDateString();
}

function lastFailure(failure) {
  if (!failure) return "none";
  const text = started(failure.startTime) || "unknown";
  return logHref(failure) ? link(logHref(failure), text) : text;
}

function render() {
  const list = newestFirst().slice(0, RUNS);
  const rate = stats?.passRate == null ? "–" : `${Math.round(stats.passRate * 100)}%`;
  const failure = stats?.lastFailure;
  document.getElementById("stats").replaceChildren(
    statTile("Runs", String(stats?.runs ?? list.length), "stat-runs"),
    statTile("Pass rate", rate, "stat-pass-rate"),
    statTile("p50", duration(stats?.p50DurationSeconds) || "–", "stat-p50"),
    statTile("p90", duration(stats?.p90DurationSeconds) || "–", "stat-p90"),
    statTile("Last failure", lastFailure(failure), "stat-last-failure"),
  );
  document.getElementById("chart-box").replaceChildren(chart([...list].reverse()));
  document.querySelector("#runs tbody").replaceChildren(
    ...list.map((run) => {
      const tr = el("tr", { dataset: { name: run.name }, className: run === selected ? "selected" : "" },
        el("td", { className: `state ${run.state.toLowerCase()}` }, badge(run.state)),
        el("td", { "data-label": "Started" }, started(run.startTime)),
        el("td", { "data-label": "Duration" }, duration(seconds(run))),
        el("td", { "data-label": "Build" }, run.buildId || ""),
        el("td", { "data-label": "Logs" }, link(logHref(run), "logs")),
      );
      tr.addEventListener("click", () => select(run));
      return tr;
    }),
  );
  document.getElementById("loading").hidden = true;
  document.getElementById("empty").hidden = runs.size > 0;
  if (selected) {
    const title = `Output of ${selected.buildId ? `build ${selected.buildId}` : "the newest run"}`;
    document.getElementById("log-title").textContent = title;
  }
}

// --- the live log of one run --------------------------------------------------------------------

function select(run) {
  if (selected?.name === run.name && closeLog) return;
  selected = run;
  closeLog?.();
  const pane = document.getElementById("log");
  pane.replaceChildren();
  // The stored logs of this run, where a real Spyglass or Deck has them.
  const note = (text) =>
    pane.append(el("div", { className: "notice" }, text, " ", link(logHref(run), "stored logs")));
  closeLog = subscribe(LOG, { name: run.name }, {
    onNext(data) {
      const event = data.prowJobLog;
      const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
      if (event.kind === "LINES") pane.append(event.lines.join("\n") + "\n");
      else note(event.message);
      if (atBottom) pane.scrollTop = pane.scrollHeight;
    },
    onComplete() { closeLog = null; },
    onClose(reason) { note(`log stream closed: ${reason}`); closeLog = null; },
  });
  render();
}

function autoSelect() {
  // Follow the newest run unless the reader picked one.
  const newest = newestFirst()[0];
  if (newest && (!selected || (selected.autoPicked && newest.name !== selected.name))) {
    newest.autoPicked = true;
    select(newest);
  }
}

// --- loading and live updates ---------------------------------------------------------------------

let refresh = null;
async function load() {
  const data = await query(LOAD, { job: JOB, first: RUNS });
  if (data.jobRuns.__typename !== "ProwJobConnection") throw new Error(data.jobRuns.message);
  stats = data.jobStats.__typename === "JobStats" ? data.jobStats : null;
  for (const run of data.jobRuns.nodes) if (!runs.has(run.name)) runs.set(run.name, run);
}

function refreshStats() {
  clearTimeout(refresh); // a burst of events costs one query
  refresh = setTimeout(async () => {
    const data = await query(LOAD, { job: JOB, first: 0 });
    if (data.jobStats.__typename === "JobStats") stats = data.jobStats;
    render();
  }, 200);
}

keepAlive(({ ready, dropped }) => {
  setStatus("connecting", "connecting…");
  subscribe(EVENTS, { filter: { job: JOB } }, {
    async onReady() {
      ready();
      try {
        await load();
        setStatus("live", "live");
      } catch (err) {
        setStatus("error", `cannot load ${JOB}: ${err.message}`);
        if (err instanceof AuthError) return dropped(err.message, { retry: true, auth: true });
        document.getElementById("loading").hidden = true;
        return;
      }
      render();
      autoSelect();
    },
    onNext(data) {
      const { type, prowJob: run } = data.prowJobEvents;
      if (type === "DELETED") runs.delete(run.name);
      else {
        const old = runs.get(run.name);
        if (old === selected && old) Object.assign(old, run);
        else runs.set(run.name, run);
      }
      refreshStats();
      autoSelect();
      render();
    },
    onClose: dropped,
  });
});

setInterval(() => runs.size && render(), 1000);
