// What both dashboard pages share: the page's settings, the token, GraphQL over HTTP and over
// WebSocket (graphql-transport-ws), the connection status, and small formatting helpers.
// Plain ES module, no dependency, no build step.

const body = document.body.dataset;
export const ENDPOINT = new URL(body.endpoint, location.href);
export const BASE = body.base; // the app's root path ("" or e.g. "/prow-graphql")
// Deck and Spyglass links only where they lead somewhere real (see web/links.py).
const DECK = body.deck === "on";
const SPYGLASS = body.spyglass === "on";
const AUTH = body.auth; // "none", "token" or "proxy"

// --- the token (--auth token): asked once per tab, kept in sessionStorage ----------------------

const TOKEN_KEY = "prow-graphql-token";
const token = () => sessionStorage.getItem(TOKEN_KEY);

export class AuthError extends Error {}

/** Resolves once a token is known (at once unless the gateway wants one and none is stored). */
export function ensureToken(problem) {
  if (AUTH !== "token" || (token() && !problem)) return Promise.resolve();
  sessionStorage.removeItem(TOKEN_KEY);
  const dialog = document.getElementById("login");
  dialog.querySelector(".problem").textContent = problem || "";
  dialog.hidden = false;
  dialog.querySelector("input").focus();
  return new Promise((resolve) => {
    dialog.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, dialog.querySelector("input").value.trim());
      dialog.hidden = true;
      resolve();
    };
  });
}

function authorization() {
  return AUTH === "token" && token() ? { Authorization: `Bearer ${token()}` } : {};
}

// --- GraphQL over HTTP (queries) ----------------------------------------------------------------

export async function query(document, variables) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
    body: JSON.stringify({ query: document, variables }),
  });
  const result = await response.json();
  if (response.status === 401) throw new AuthError(result.errors?.[0]?.message || "unauthorized");
  if (result.errors) throw new Error(result.errors[0].message);
  return result.data;
}

// --- GraphQL over WebSocket (subscriptions) -----------------------------------------------------
// graphql-transport-ws in a nutshell: send connection_init (the token goes in its payload, as
// browsers cannot set headers on a WebSocket), wait for connection_ack, send subscribe {id,
// payload}, receive next {id, payload} until complete {id}; answer ping with pong.
// Spec: https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md

const AUTH_CLOSE_CODES = [4401, 4403];

/** One subscription on its own connection; returns a function that closes it. */
export function subscribe(document, variables, { onReady, onNext, onComplete, onClose }) {
  const url = new URL(ENDPOINT);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url, "graphql-transport-ws");
  const send = (message) => ws.send(JSON.stringify(message));
  let done = false;

  ws.onopen = () => send({ type: "connection_init", payload: authorization() });
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      send({ id: "1", type: "subscribe", payload: { query: document, variables } });
      onReady?.();
    } else if (message.type === "ping") {
      send({ type: "pong" });
    } else if (message.type === "next") {
      if (message.payload.errors) {
        done = true;
        onClose(message.payload.errors[0].message, { retry: false });
        ws.close(1000);
      } else {
        onNext(message.payload.data);
      }
    } else if (message.type === "error") {
      done = true; // an invalid document: retrying cannot help
      onClose(`subscription failed: ${message.payload[0].message}`, { retry: false });
      ws.close(1000);
    } else if (message.type === "complete") {
      done = true;
      onComplete?.();
      ws.close(1000);
    }
  };
  ws.onclose = (event) => {
    if (done) return;
    const auth = AUTH_CLOSE_CODES.includes(event.code);
    onClose(event.reason || `connection closed (${event.code})`, { retry: true, auth });
  };
  return () => {
    done = true;
    ws.close(1000);
  };
}

/** Keep a subscription open: re-run `connect` after a drop, with backoff; asks for a new
 * token when the gateway refuses the current one. */
export function keepAlive(connect) {
  let delay = 1000;
  const start = () =>
    connect({
      ready() {
        delay = 1000;
      },
      async dropped(reason, { retry, auth }) {
        if (!retry) return setStatus("error", reason);
        if (auth) {
          setStatus("error", "the gateway refused the token");
          await ensureToken(`The gateway refused the token: ${reason}`);
          return start();
        }
        setStatus("reconnecting", `${reason}; reconnecting in ${delay / 1000}s`);
        setTimeout(start, delay);
        delay = Math.min(delay * 2, 30000);
      },
    });
  ensureToken().then(start);
}

// --- status line and formatting -------------------------------------------------------------------

export function setStatus(status, text) {
  const element = document.getElementById("status");
  element.dataset.status = status;
  element.textContent = text;
}

export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "className") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (value != null) element.setAttribute(key, value);
  }
  element.append(...children.filter((c) => c != null && c !== ""));
  return element;
}

/** Seconds a run took, or has been running; null before it started. */
export function seconds(job) {
  if (job.durationSeconds != null) return job.durationSeconds;
  if (!job.startTime) return null;
  return Math.max(0, (Date.now() - Date.parse(job.startTime)) / 1000);
}

export function duration(value) {
  if (value == null) return "";
  const s = Math.round(value);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** The state as a badge: text (never colour alone) plus a class per state for its colour. */
export function badge(state) {
  return el("span", { className: `state ${state.toLowerCase()}` }, state);
}

export function link(href, text) {
  return href ? el("a", { href }, text) : "";
}

/** Spyglass (status.url), else Deck's log page; null when neither leads anywhere. */
export function logHref(job) {
  return (SPYGLASS && job.url) || (DECK && job.logLink) || null;
}

export function jobHref(name) {
  return `${BASE}/dashboard/jobs/${encodeURIComponent(name)}`;
}
