// graphql-http's GraphQL-over-HTTP server audits against a running gateway.
// Usage: node audit.mjs URL  -> prints one JSON line {ok, notice, warn, error, failures: [...]}
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failures = [];
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    let body = '';
    try {
      body = await result.response.text();
    } catch {
      // the audit may have read the body already
    }
    failures.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      httpStatus: result.response.status,
      contentType: result.response.headers.get('content-type'),
      body: body.slice(0, 300),
    });
  }
}
console.log(JSON.stringify({ ...counts, failures }));
