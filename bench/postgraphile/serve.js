#!/usr/bin/env node
// PostGraphile 4 serving warren's PostgreSQL database (the `public` schema), in production
// mode: the peer of warren in the dashboard benchmark. See README.md beside this file.
//
//   node serve.js --database-url postgres://postgres@127.0.0.1:5432/DB --port 5678
//
// Prints `listening on http://HOST:PORT/graphql` once the schema is built and the port is
// bound; a benchmark driver waits for that line. Stops on SIGINT/SIGTERM.
"use strict";

const http = require("http");
const path = require("path");
const { postgraphile } = require("postgraphile");
const { makePgSmartTagsFromFilePlugin } = require("postgraphile/plugins");
const PgSimplifyInflectorPlugin = require("@graphile-contrib/pg-simplify-inflector");

const USAGE = `usage: node serve.js --database-url URL [--port N] [--host ADDR] [--pool-size N] [--export-schema FILE]
  --database-url  PostgreSQL URL (or DATABASE_URL)
  --port          port to listen on (or PORT; default 5678)
  --host          address to listen on (default 127.0.0.1)
  --pool-size     PostgreSQL connections (default 16, as warren's pool)
  --export-schema write the generated GraphQL schema (SDL) to FILE, then serve as usual`;

function parseArgs(argv) {
  const opts = {
    databaseUrl: process.env.DATABASE_URL,
    port: process.env.PORT || "5678",
    host: "127.0.0.1",
    poolSize: "16",
    exportSchema: undefined,
  };
  const names = {
    "--database-url": "databaseUrl",
    "--port": "port",
    "--host": "host",
    "--pool-size": "poolSize",
    "--export-schema": "exportSchema",
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    }
    const key = names[arg];
    if (!key) fail(`unknown argument ${arg}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) fail(`${arg} needs a value`);
    }
    opts[key] = value;
  }
  if (!opts.databaseUrl) fail("--database-url is required");
  opts.port = Number(opts.port);
  opts.poolSize = Number(opts.poolSize);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fail("bad --port");
  if (!Number.isInteger(opts.poolSize) || opts.poolSize < 1) fail("bad --pool-size");
  return opts;
}

function fail(message) {
  console.error(`serve.js: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // PostGraphile makes (and on release ends) its own pg pool from this.
  const pgConfig = { connectionString: opts.databaseUrl, max: opts.poolSize };

  const middleware = postgraphile(pgConfig, "public", {
    // Production: no GraphiQL, no watching, no per-query log line, no stack traces.
    graphiql: false,
    enhanceGraphiql: false,
    watchPg: false,
    disableQueryLog: true,
    showErrorStack: false,
    extendedErrors: [],
    allowExplain: false,
    retryOnInitFail: false,
    // Output shaping recommended for new v4 projects.
    dynamicJson: true,
    setofFunctionsContainNulls: false,
    ignoreRBAC: false,
    legacyRelations: "omit",
    // Shorter names (`teamMembers`, `person`, `app`) instead of `...ByPersonId` everywhere.
    appendPlugins: [
      PgSimplifyInflectorPlugin,
      // Two virtual foreign keys so that an app lists its technical contacts directly
      // (the real one points at developer_connection); see postgraphile.tags.json5.
      makePgSmartTagsFromFilePlugin(path.join(__dirname, "postgraphile.tags.json5")),
    ],
    exportGqlSchemaPath: opts.exportSchema,
    sortExport: true,
  });

  // Build the schema before binding the port, so "listening" means "ready".
  await middleware.getGraphQLSchema();

  const server = http.createServer(middleware);
  server.keepAliveTimeout = 65_000;
  server.on("error", (err) => {
    console.error(`serve.js: ${err.message}`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
    console.log(`listening on http://${host}:${port}/graphql`);
  });

  const stop = (signal) => {
    console.error(`serve.js: ${signal}, stopping`);
    server.close(() => {
      middleware.release().then(() => process.exit(0));
    });
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`serve.js: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
