// The conversation between tests/it/clients.rs and the scripts beside this file: the Rust test
// writes one JSON command per line on stdin and reads one JSON message per line from stdout,
// so that it alone decides when things happen and what must be true.

import { createInterface } from 'node:readline';

export function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// Runs `handlers[command.op](command)` for each command, one at a time, until stdin closes
// (the test is done, or it died and took its end of the pipe with it).
export async function serve(handlers) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const command = JSON.parse(line);
    const handler = handlers[command.op];
    if (handler === undefined) throw new Error(`unknown op ${JSON.stringify(command.op)}`);
    await handler(command);
  }
}

// Reports an error the test did not ask for and exits: the test fails on the line it reads.
export function fatal(error) {
  emit({ event: 'fatal', message: String(error?.stack ?? error) });
  process.exit(1);
}
