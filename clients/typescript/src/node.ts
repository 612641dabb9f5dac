/** Wiring a SessionClient to a sidecar started with Node's `child_process`. */

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import { SessionClient } from './index.js';

/**
 * A client talking to `child` (spawned with pipes, e.g.
 * `spawn('ait42-session', ['serve'])`): requests go to its stdin, its stdout is read as
 * responses, and its exit fails whatever is still waiting. `feed: 'lines'` hands the client
 * one line at a time without its newline, as Tauri 1 does; `'chunks'` (the default) hands it
 * the stream as it comes, as Tauri 2 does.
 */
export function connectChildProcess(
  child: ChildProcessWithoutNullStreams,
  feed: 'chunks' | 'lines' = 'chunks',
): SessionClient {
  const client = new SessionClient(
    (line) =>
      new Promise<void>((resolve, reject) => {
        child.stdin.write(line, (error) => (error ? reject(error) : resolve()));
      }),
  );
  child.stdout.setEncoding('utf8');
  if (feed === 'lines') {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) =>
      client.receiveLine(line),
    );
  } else {
    child.stdout.on('data', (chunk: string) => client.receive(chunk));
  }
  child.on('exit', (code, signal) =>
    client.close(new Error(`the session sidecar exited (${signal ?? `status ${code}`})`)),
  );
  child.stdin.on('error', () => undefined); // a write after exit: the exit already failed it
  return client;
}
