// Third-party JavaScript GraphQL clients, each with its defaults, against a running gateway.
// Usage: node clients.mjs CLIENT HTTP_URL
//   CLIENT: graphql-ws | graphql-sse | apollo (GraphQLWsLink) | apollo-http (HttpLink only:
//   subscriptions as multipart HTTP)
// Each runs a query, the triggerJob mutation, then follows the new ProwJob with the
// prowJobUpdated subscription until the server completes it. Prints one JSON line:
// {"client", "repos": [...], "job": name, "states": [...]}; exits non-zero on any error.
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';

// Node 20 has no global WebSocket; Apollo's link looks for one when it reports errors.
globalThis.WebSocket ??= WebSocket;

const [client, httpUrl] = process.argv.slice(2);
const wsUrl = httpUrl.replace(/^http/, 'ws');

const REPOS = 'query Repos { repos { org repo } }';
const TRIGGER = `mutation Trigger {
  triggerJob(input: {org: "example-org", repo: "widgets", job: "pull-widgets-unit",
                     type: PRESUBMIT, baseRef: "main", pullRequest: {number: 7}}) {
    __typename
    ... on TriggerJobSuccess { prowJob { name } }
    ... on Error { message }
  }
}`;
const FOLLOW = 'subscription Follow($name: String!) { prowJobUpdated(name: $name) { name state } }';

function triggered(data) {
  const result = data.triggerJob;
  if (result.__typename !== 'TriggerJobSuccess') throw new Error(JSON.stringify(result));
  return result.prowJob.name;
}

// graphql-ws and graphql-sse share one shape: subscribe(payload, sink) -> dispose.
function once(sub, payload) {
  return new Promise((resolve, reject) => {
    let result;
    sub.subscribe(payload, {
      next: (value) => (result = value),
      error: reject,
      complete: () => resolve(result),
    });
  });
}

function all(sub, payload) {
  return new Promise((resolve, reject) => {
    const results = [];
    sub.subscribe(payload, {
      next: (value) => results.push(value),
      error: reject,
      complete: () => resolve(results),
    });
  });
}

function data(result) {
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

async function viaSink(sub) {
  const repos = data(await once(sub, { query: REPOS })).repos;
  const job = triggered(data(await once(sub, { query: TRIGGER })));
  const updates = await all(sub, { query: FOLLOW, variables: { name: job } });
  return { repos, job, states: updates.map((u) => data(u).prowJobUpdated.state) };
}

async function viaApollo(overWebSocket) {
  const ws = overWebSocket ? createWsClient({ url: wsUrl, webSocketImpl: WebSocket }) : null;
  const link = ws ? new GraphQLWsLink(ws) : new HttpLink({ uri: httpUrl });
  const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  try {
    const repos = (await apollo.query({ query: gql(REPOS) })).data.repos;
    const job = triggered((await apollo.mutate({ mutation: gql(TRIGGER) })).data);
    const states = await new Promise((resolve, reject) => {
      const seen = [];
      apollo.subscribe({ query: gql(FOLLOW), variables: { name: job } }).subscribe({
        next: (result) => {
          if (result.error) reject(result.error);
          else seen.push(result.data.prowJobUpdated.state);
        },
        error: reject,
        complete: () => resolve(seen),
      });
    });
    return { repos: repos.map(({ org, repo }) => ({ org, repo })), job, states };
  } finally {
    apollo.stop();
    await ws?.dispose();
  }
}

async function main() {
  let outcome;
  if (client === 'graphql-ws') {
    const ws = createWsClient({ url: wsUrl, webSocketImpl: WebSocket });
    try {
      outcome = await viaSink(ws);
    } finally {
      await ws.dispose();
    }
  } else if (client === 'graphql-sse') {
    const sse = createSseClient({ url: httpUrl });
    try {
      outcome = await viaSink(sse);
    } finally {
      sse.dispose();
    }
  } else if (client === 'apollo' || client === 'apollo-http') {
    outcome = await viaApollo(client === 'apollo');
  } else {
    throw new Error(`unknown client ${client}`);
  }
  console.log(JSON.stringify({ client, ...outcome }));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  },
);
