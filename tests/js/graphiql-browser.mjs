// GraphiQL as a person uses it, in headless Chromium driven by playwright, remote-controlled by
// tests/it/clients.rs through lines.mjs.
//
//   node graphiql-browser.mjs http://127.0.0.1:PORT /usr/bin/chromium SCREENSHOT.png
//
// Commands:
//   {op: "open", token?, cookie?}
//       opens GraphiQL at /graphql: {event: "opened"}. With `cookie` ({name, value}) the browser
//       holds that cookie for the server, with the attributes of warren's session cookie (path /,
//       HttpOnly, SameSite=Lax); with `token` the bearer token is typed into the Headers tab.
//   {op: "run", query}
//       types the query into the editor and runs it: {event: "ran"}.
//   {op: "subscribe", query}
//       the same with a subscription, answering {event: "subscribed", init, subscribe} once the
//       page's WebSocket was acknowledged and carries it (`init` and `subscribe` are the payloads
//       GraphiQL sent).
//   {op: "expect", text}
//       waits until the result pane shows `text`: {event: "shown", response}.
//   {op: "close"}
//       {event: "closed"}.
// Any failure answers {event: "fatal", message} after a screenshot to SCREENSHOT.png.
//
// The page loads React and GraphiQL from unpkg.com; there is no internet here, so those requests
// are answered from this folder's node_modules (the versions package.json pins) and every other
// request leaving the server under test is refused.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { emit, fatal, serve } from './lines.mjs';

const [base, executablePath, screenshot] = process.argv.slice(2);
const origin = new URL(base).origin;
const modules = join(dirname(fileURLToPath(import.meta.url)), 'node_modules');
// Generous: a cold Chromium on a busy two-core machine. The Rust side has its own limit.
const WAIT_MS = 60_000;

let browser;
let page;
const pageErrors = [];
// What GraphiQL says on its WebSocket: the connection_init payload and the subscribe message.
const sent = [];
const received = [];

// `https://unpkg.com/<package>@<version>/<file>` from node_modules, when the installed package
// is that version (an exact version must match exactly, a major version by its major).
async function unpkg(url) {
  const match = /^\/((?:@[^/]+\/)?[^@/]+)@([^/]+)\/(.+)$/.exec(url.pathname);
  if (match === null) throw new Error(`unexpected unpkg address ${url.href}`);
  const [, name, wanted, file] = match;
  const { version } = JSON.parse(await readFile(join(modules, name, 'package.json'), 'utf8'));
  const fits = /^\d+\.\d+\.\d+$/.test(wanted) ? version === wanted : version.split('.')[0] === wanted;
  if (!fits) {
    throw new Error(`the page wants ${name}@${wanted}, tests/js has ${name}@${version}: change package.json or graphiql() in src/http/mod.rs`);
  }
  const contentType = file.endsWith('.css') ? 'text/css' : 'application/javascript';
  return { status: 200, contentType, body: await readFile(join(modules, name, file)) };
}

// The CodeMirror 5 editor (GraphiQL 3's) inside `container`, filled from the keyboard: select
// everything, then type. `insertText` types the text as one input, so the editor's bracket
// completion does not add braces of its own; reading the editor back proves the text landed.
async function typeInto(container, text) {
  const editor = page.locator(`${container} .CodeMirror`);
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  const value = await editor.evaluate((element) => element.CodeMirror.getValue());
  if (value !== text) throw new Error(`${container} holds ${JSON.stringify(value)} instead of ${JSON.stringify(text)}`);
}

// What the result pane shows ('' before the first result).
function resultPane() {
  return page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '');
}

// Waits for `condition`; a result shown before it holds is an error (the run went wrong).
async function until(what, condition) {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    const shown = await resultPane();
    if (shown !== '') throw new Error(`waiting for ${what}, the result pane shows ${shown}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function open({ token, cookie }) {
  browser = await chromium.launch({ executablePath, headless: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  if (cookie !== undefined) {
    await context.addCookies([{ name: cookie.name, value: cookie.value, url: base, httpOnly: true, sameSite: 'Lax' }]);
  }
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin) return route.continue();
    if (url.origin === 'https://unpkg.com') {
      try {
        return await route.fulfill(await unpkg(url));
      } catch (error) {
        pageErrors.push(String(error.message));
        return route.fulfill({ status: 404, body: String(error.message) });
      }
    }
    // Shown with a failure: a request the page needed and did not get may be why.
    console.error(`refused ${url.href}`);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error.message)));
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => sent.push(JSON.parse(payload)));
    socket.on('framereceived', ({ payload }) => received.push(JSON.parse(payload)));
  });

  // `goto` returns once the page's scripts have loaded (or failed to).
  await page.goto(`${base}/graphql`);
  if (pageErrors.length > 0) throw new Error('the page failed to load');
  await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: WAIT_MS });

  if (token !== undefined) {
    await page.getByRole('button', { name: 'Headers' }).click();
    await typeInto('.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
  }
  emit({ event: 'opened' });
}

// Types `query` into the editor and runs it.
async function execute(query) {
  await typeInto('.graphiql-query-editor', query);
  // GraphiQL parses the query 100 ms after the last change and decides from that parse whether
  // an operation is a subscription (for the WebSocket) or not (for HTTP): a person never clicks
  // that fast, a script does.
  await page.waitForFunction(() => {
    const editor = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    return editor.documentAST?.loc?.source.body === editor.getValue();
  }, null, { timeout: WAIT_MS });
  // The same button stops an operation still running (a query is, briefly, after its result
  // shows): only an idle GraphiQL starts a new one.
  await page.locator('.graphiql-execute-button[aria-label^="Execute"]').click({ timeout: WAIT_MS });
}

async function run({ query }) {
  await execute(query);
  emit({ event: 'ran' });
}

async function subscribe({ query }) {
  await execute(query);
  const of = (messages, type) => messages.find((message) => message.type === type);
  await until('connection_ack and subscribe', () => of(received, 'connection_ack') && of(sent, 'subscribe'));
  emit({ event: 'subscribed', init: of(sent, 'connection_init').payload, subscribe: of(sent, 'subscribe').payload });
}

async function expect({ text }) {
  // The result pane (also a CodeMirror editor) shows the latest result of the subscription; an
  // error there (the socket closed, GraphQL errors) ends the wait at once.
  const handle = await page.waitForFunction(
    (wanted) => {
      const value = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '';
      return (value.includes(wanted) || /Socket closed|"errors"/.test(value)) && value;
    },
    text,
    { timeout: WAIT_MS, polling: 100 },
  );
  const response = await handle.jsonValue();
  if (!response.includes(text)) throw new Error(`the result pane shows an error: ${response}`);
  emit({ event: 'shown', response });
}

async function close() {
  await browser?.close();
  browser = undefined;
  emit({ event: 'closed' });
}

async function failed(error) {
  try {
    await page?.screenshot({ path: screenshot, fullPage: true });
  } catch {
    // The failure below is what matters.
  }
  await browser?.close().catch(() => {});
  const detail = pageErrors.map((message) => `\npage error: ${message}`).join('');
  fatal(`${error?.message ?? error}${detail}\nscreenshot: ${screenshot}\n${error?.stack ?? ''}`);
}

await serve({ open, run, subscribe, expect, close }).catch(failed);
await browser?.close();
