// The GraphQL over HTTP specification's own audits (graphql-http's `serverAudits`) against the
// server at the URL given: one JSON line per audit, {id, name, status, reason}, where status is
// "ok", "notice" (a MAY), "warn" (a SHOULD) or "error" (a MUST). tests/it/clients.rs judges them.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node http-audit.mjs URL');
  process.exit(2);
}
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(JSON.stringify({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.reason ?? null,
  }));
}
