// Starts the self-hosted GraphiQL on this gateway: queries and mutations go over HTTP POST to
// the page's own URL, subscriptions over graphql-transport-ws (graphql-ws client) to the same URL.
"use strict";

(function () {
  const root = document.getElementById("graphiql");
  const endpoint = new URL(root.dataset.endpoint, location.href);
  const wsEndpoint = new URL(endpoint);
  wsEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // Subscriptions authenticate like HTTP requests: an Authorization header typed into the
  // Headers pane is sent in connection_init's payload (read when a connection opens).
  let headersText = "";
  function connectionParams() {
    try {
      const headers = JSON.parse(headersText || "{}");
      return headers.Authorization ? { Authorization: headers.Authorization } : {};
    } catch (err) {
      return {};
    }
  }

  const fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    wsClient: graphqlWs.createClient({ url: wsEndpoint.href, connectionParams, lazy: true }),
  });

  const defaultQuery = `# prow-graphql: run with Ctrl-Enter; the Docs pane (top left) lists every field.
#
# Also try the live feed:
#   subscription { prowJobEvents { type prowJob { name job state buildId } } }
query RecentProwJobs {
  prowJobs(first: 10) {
    nodes { name job type state buildId startTime durationSeconds logLink }
  }
}
`;

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      onEditHeaders: (text) => { headersText = text; },
    }),
  );
})();
