// A subscriber made of the `graphql-ws` package (the reference client of the
// graphql-transport-ws protocol) on the `ws` WebSocket implementation, remote-controlled by
// tests/it/clients.rs through lines.mjs.
//
//   node graphql-ws-client.mjs ws://127.0.0.1:PORT/graphql
//
// Commands: {op: "connect", client, token}, {op: "subscribe", client, id, after},
// {op: "dispose", client}. Messages: {event: "connected" | "closed" | "disposed", client, ...},
// {event: "next" | "error" | "complete", id, ...}.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { emit, fatal, serve } from './lines.mjs';

const url = process.argv[2];
const EVENTS = `subscription($after: String) {
  events(after: $after) { cursor sequence type summary }
}`;

const clients = new Map();

function client(name) {
  const found = clients.get(name);
  if (found === undefined) throw new Error(`no client ${name}`);
  return found.client;
}

// The sink's error is GraphQL errors, a close event or an Error.
function describe(error) {
  if (Array.isArray(error)) return { errors: error };
  if (typeof error?.code === 'number') return { code: error.code, reason: String(error.reason ?? '') };
  return { message: String(error?.message ?? error) };
}

await serve({
  connect({ client: name, token }) {
    let closed;
    const done = new Promise((resolve) => {
      closed = resolve;
    });
    const created = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${token}` },
      // Connect now, so the test sees the acknowledgement (or the refusal) on its own.
      lazy: false,
      onNonLazyError: () => {},
      // A refusal must reach the test as it happened, not be retried away.
      retryAttempts: 0,
      on: {
        connected: () => emit({ event: 'connected', client: name }),
        closed: (event) => {
          emit({ event: 'closed', client: name, code: event.code, reason: String(event.reason ?? '') });
          closed();
        },
      },
    });
    clients.set(name, { client: created, closed: done, subscriptions: [] });
  },

  subscribe({ client: name, id, after }) {
    let ended;
    clients.get(name)?.subscriptions.push(new Promise((resolve) => {
      ended = resolve;
    }));
    client(name).subscribe(
      { query: EVENTS, variables: { after: after ?? null } },
      {
        next: (result) => emit({ event: 'next', id, result }),
        error: (error) => {
          emit({ event: 'error', id, ...describe(error) });
          ended();
        },
        complete: () => {
          emit({ event: 'complete', id });
          ended();
        },
      },
    );
  },

  // Answers once the socket is closed and its subscriptions ended, so that nothing of this
  // client can follow `disposed`.
  async dispose({ client: name }) {
    await client(name).dispose();
    await clients.get(name).closed;
    await Promise.all(clients.get(name).subscriptions);
    clients.delete(name);
    emit({ event: 'disposed', client: name });
  },
}).catch(fatal);

for (const open of clients.values()) await open.client.dispose();
