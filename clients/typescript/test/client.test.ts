/**
 * The client against the real sidecar: `python -m ait42_session serve` on a database in a
 * temporary folder (AIT42_PYTHON names the interpreter with ait42-session installed).
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SessionClient, SessionStoreError, type WorktreeSession } from '../src/index.js';
import { connectChildProcess } from '../src/node.js';

const PYTHON = process.env.AIT42_PYTHON ?? 'python3';
// The frozen binary of tools/build-sidecar when $AIT42_SIDECAR names it, else the package.
const SIDECAR = process.env.AIT42_SIDECAR;

function startSidecar(db: string, ...extra: string[]): ChildProcessWithoutNullStreams {
  const args = ['--db', db, 'serve', ...extra];
  return SIDECAR
    ? spawn(SIDECAR, args, { stdio: 'pipe' })
    : spawn(PYTHON, ['-m', 'ait42_session', ...args], { stdio: 'pipe' });
}

function session(id: string, overrides: Partial<WorktreeSession> = {}): WorktreeSession {
  return {
    id,
    type: 'competition',
    task: `Task of ${id}`,
    status: 'running',
    createdAt: '2025-01-13T10:00:00Z',
    updatedAt: '2025-01-13T10:00:00Z',
    instances: [
      { instanceId: 0, worktreePath: '/w/0', branch: 'b0', agentName: 'alpha', status: 'running', tmuxSessionId: 't0' },
      { instanceId: 1, worktreePath: '/w/1', branch: 'b1', agentName: 'beta', status: 'running', tmuxSessionId: 't1' },
    ],
    chatHistory: [],
    evaluation: { scores: [1, 2] },
    ...overrides,
  };
}

// Fed as each runtime delivers stdout: Tauri 2 (and Node) a stream cut anywhere, Tauri 1 (the
// editor as it ships) one line per event with its newline removed.
for (const feed of ['chunks', 'lines'] as const) describe(`SessionClient over the real sidecar, fed ${feed}`, () => {
  let folder: string;
  let workspace: string;
  let child: ChildProcessWithoutNullStreams;
  let client: SessionClient;

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'ait42-ts-'));
    workspace = join(folder, 'workspace');
    mkdirSync(workspace);
    child = startSidecar(join(folder, 'sessions.db'));
    client = connectChildProcess(child, feed);
  });

  after(() => {
    child.stdin.end();
    rmSync(folder, { recursive: true, force: true });
  });

  it('runs the seven board commands with their results', async () => {
    const created = await client.createSession(workspace, session('s1'));
    assert.equal(created.id, 's1');
    assert.equal(created.completedAt, null);
    assert.deepEqual(created.evaluation, { scores: [1, 2] });
    assert.deepEqual(await client.getSession(workspace, 's1'), created);

    const updated = await client.updateSession(workspace, { ...created, task: 'Renamed' });
    assert.equal(updated.task, 'Renamed');

    const message = { id: 'm1', role: 'user' as const, content: 'hello', timestamp: '2025-01-13T10:01:00Z' };
    const withMessage = await client.addChatMessage(workspace, 's1', message);
    assert.equal(withMessage.chatHistory.length, 1);
    assert.equal(withMessage.chatHistory[0].content, 'hello');

    const withStatus = await client.updateInstanceStatus(workspace, 's1', 1, 'completed');
    assert.deepEqual(withStatus.instances.map((i) => i.status), ['running', 'completed']);

    const all = await client.getAllSessions(workspace);
    assert.deepEqual(all.map((s) => s.id), ['s1']);

    await client.deleteSession(workspace, 's1');
    await client.deleteSession(workspace, 's1'); // again: succeeds, as in the editor
    assert.deepEqual(await client.getAllSessions(workspace), []);
  });

  it('takes the board filter and sort objects', async () => {
    await client.createSession(workspace, session('a', { type: 'debate', createdAt: '2025-01-13T10:00:00Z' }));
    await client.createSession(workspace, session('b', { type: 'ensemble', createdAt: '2025-01-14T10:00:00Z' }));
    const listed = await client.listSessions(workspace, { type: ['debate', 'ensemble'], dateFrom: '2025-01-14', dateTo: '2025-01-14' });
    assert.deepEqual(listed.map((s) => s.id), ['b']);
    assert.equal(listed[0].instanceCount, 2);
    const sorted = await client.querySessions(workspace, {}, { field: 'createdAt', direction: 'asc' }, { limit: 1 });
    assert.deepEqual(sorted.map((s) => s.id), ['a']);
    assert.equal(await client.countSessions(workspace, { searchQuery: '   ' }), 2);
    const hits = await client.search(workspace, 'Tas', 10, true);
    assert.equal(hits.length, 2);
    assert.match(hits[0].snippet, /\[Task\]/);
    const workspaces = await client.listWorkspaces();
    assert.equal(workspaces[0].sessionCount, 2);
    assert.equal(typeof (await client.dataVersion()), 'number');
  });

  it('rejects with the store error class', async () => {
    await assert.rejects(client.getSession(workspace, 'nobody'), (error: unknown) => {
      assert.ok(error instanceof SessionStoreError);
      assert.equal(error.code, -32001);
      assert.equal(error.errorClass, 'NotFoundError');
      return true;
    });
    await assert.rejects(client.createSession(workspace, session('a')), { errorClass: 'AlreadyExistsError' });
    await assert.rejects(
      client.createSession(workspace, session('bad', { status: 'exploded' as never })),
      { code: -32602, errorClass: 'ValidationError' },
    );
  });

  it('upserts as the debate runner does and hears of changes it subscribed to', async () => {
    const heard: string[] = [];
    const stop = client.onSessionsChanged((change) => heard.push(change.workspacePath));
    const subscribed = await client.subscribe(workspace);
    assert.equal(subscribed.workspacePath, workspace);
    const debate = session('debate-1', { type: 'debate', status: 'round_1', task: 'Debate in progress' });
    assert.equal((await client.upsertSession(workspace, debate)).status, 'round_1');
    assert.equal((await client.upsertSession(workspace, { ...debate, status: 'round_2' })).status, 'round_2');
    const deadline = Date.now() + 2000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(heard.length > 0 && heard.every((path) => path === workspace));
    stop();
    await client.unsubscribe(workspace);
    assert.equal((await client.getSession(workspace, 'debate-1')).status, 'round_2');
  });

  it('appends to an output as it streams, and refuses an instance the session lacks', async () => {
    await client.createSession(workspace, session('streamed', {
      instances: [{ ...session('x').instances[0], instanceId: 0, output: 'line 1\n' }],
    }));
    assert.equal(await client.appendInstanceOutput(workspace, 'streamed', 0, 'line 2\n'), undefined);
    await client.appendInstanceOutput(workspace, 'streamed', 0, 'line 3\n');
    const stored = await client.getSession(workspace, 'streamed');
    assert.equal(stored.instances[0].output, 'line 1\nline 2\nline 3\n');
    await assert.rejects(client.appendInstanceOutput(workspace, 'streamed', 7, 'x'), { errorClass: 'NotFoundError' });
    await assert.rejects(client.appendInstanceOutput(workspace, 'nobody', 0, 'x'), { errorClass: 'NotFoundError' });
  });

  it('gets an answer with its id for an emoji cut in half', async () => {
    // App.tsx cuts a task to 47 UTF-16 units for an agent name; JSON.stringify writes the
    // half emoji as a lone surrogate escape
    const cut = '🚀🚀'.slice(0, 3);
    await assert.rejects(
      client.createSession(workspace, session('cut', { task: cut })),
      (error: unknown) => error instanceof SessionStoreError && error.code === -32602 && /surrogate/.test(error.message),
    );
  });

  it('keeps many requests in flight and matches each answer to its call', async () => {
    const ids = Array.from({ length: 20 }, (_, n) => `many-${n}`);
    const created = await Promise.all(ids.map((id) => client.createSession(workspace, session(id))));
    assert.deepEqual(created.map((s) => s.id), ids);
    const fetched = await Promise.all(ids.map((id) => client.getSession(workspace, id)));
    assert.deepEqual(fetched.map((s) => s.id), ids);
  });
});

describe('SessionClient and --omit-nulls', () => {
  it('gets unset fields as absent keys, so the board\'s !== undefined tests hold', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ait42-ts-'));
    const workspace = join(folder, 'workspace');
    mkdirSync(workspace);
    const child = startSidecar(join(folder, 'sessions.db'), '--omit-nulls');
    const client = connectChildProcess(child, 'lines');
    const created = await client.createSession(workspace, session('s1'));
    assert.equal(created.winnerId, undefined);
    assert.ok(!('completedAt' in created));
    assert.deepEqual(created.evaluation, { scores: [1, 2] });
    child.stdin.end();
    rmSync(folder, { recursive: true, force: true });
  });
});

describe('SessionClient framing', () => {
  it('reads lines handed over without their newline (Tauri 1)', async () => {
    const client = new SessionClient(() => undefined);
    const first = client.dataVersion();
    const second = client.getAllSessions('/w');
    await Promise.resolve();
    client.receiveLine('{"jsonrpc":"2.0","id":2,"result":[]}');
    client.receiveLine('');
    client.receiveLine('{"jsonrpc":"2.0","method":"sessionsChanged","params":{"workspacePath":"/w","dataVersion":3}}');
    client.receiveLine('{"jsonrpc":"2.0","id":1,"result":7}\r');
    assert.equal(await first, 7);
    assert.deepEqual(await second, []);
  });

  it('reads answers split across chunks and several in one chunk', async () => {
    const sent: string[] = [];
    const client = new SessionClient((line) => {
      sent.push(line);
    });
    const first = client.getAllSessions('/w');
    const second = client.dataVersion();
    await Promise.resolve();
    assert.equal(sent.length, 2);
    assert.ok(sent.every((line) => line.endsWith('\n')));
    client.receive('{"jsonrpc":"2.0","id":2,"res');
    client.receive('ult":7}\n{"jsonrpc":"2.0","id":1,"result":[]}\n');
    assert.deepEqual(await first, []);
    assert.equal(await second, 7);
  });

  it('fails what is waiting when the sidecar goes away', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ait42-ts-'));
    const child = startSidecar(join(folder, 'sessions.db'));
    const client = connectChildProcess(child);
    await client.dataVersion(); // started
    child.kill('SIGKILL');
    await assert.rejects(new Promise((resolve, reject) => {
      child.on('exit', () => client.dataVersion().then(resolve, reject));
    }), /exited/);
    rmSync(folder, { recursive: true, force: true });
  });
});
