/**
 * A typed client of `ait42-session serve`: JSON-RPC 2.0, one object per line, over any
 * stdin/stdout pair. The method names are the board's `tauriApi` session functions
 * (upstream src/services/tauri.ts), so the board can swap `invoke(...)` for this client.
 *
 * The client owns no process: give it a function that writes to the sidecar's stdin, and feed
 * it what the sidecar writes to stdout. Two shapes of feed, as the runtimes deliver it:
 * `receiveLine(line)` for one line at a time without its newline (Tauri 1's
 * `Command.sidecar` from `@tauri-apps/api/shell`, the editor's: its `data` events are lines
 * with the newline removed), and `receive(chunk)` for a byte stream cut anywhere (Tauri 2's
 * plugin-shell, Node). In Node, `connectChildProcess` (./node.js) wires a `child_process`.
 * README.md shows both Tauri set-ups.
 */

import type {
  ChatMessage,
  PruneReport,
  QueryOptions,
  SearchHit,
  SessionFilters,
  SessionSortOptions,
  SessionSummary,
  WorkspaceInfo,
  WorktreeSession,
} from './types.js';

export * from './types.js';

/** An error the sidecar answered with: the JSON-RPC code and the store's error class. */
export class SessionStoreError extends Error {
  readonly code: number;
  /** `NotFoundError`, `ValidationError`, `AlreadyExistsError`, ... or a JSON-RPC one. */
  readonly errorClass: string;
  readonly method: string;

  constructor(method: string, code: number, message: string, errorClass?: string) {
    super(message);
    this.name = 'SessionStoreError';
    this.method = method;
    this.code = code;
    this.errorClass = errorClass ?? ERROR_CLASSES[code] ?? 'SessionError';
  }
}

/** The sidecar's error codes (its README lists them too). */
export const ERROR_CLASSES: Record<number, string> = {
  [-32700]: 'ParseError',
  [-32600]: 'InvalidRequest',
  [-32601]: 'MethodNotFound',
  [-32602]: 'ValidationError',
  [-32603]: 'InternalError',
  [-32000]: 'SessionError',
  [-32001]: 'NotFoundError',
  [-32002]: 'AlreadyExistsError',
  [-32003]: 'StoreCorruptedError',
  [-32004]: 'DatabaseError',
  [-32005]: 'MigrationError',
};

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Response {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { class?: string } };
}

/** What `sessionsChanged` says: a write to the database, by any process, concerning a
 * subscribed workspace (or another one of the same database: re-read what you show). */
export interface SessionsChanged {
  workspacePath: string;
  dataVersion: number;
}

export class SessionClient {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, Pending>();
  private readonly changeListeners = new Set<(change: SessionsChanged) => void>();
  private closedWith: Error | null = null;

  /** @param send writes one line (a JSON-RPC request and its newline) to the sidecar. */
  constructor(private readonly send: (line: string) => void | Promise<void>) {}

  /** Feed one line the sidecar wrote, without its newline (Tauri 1's `data` events). */
  receiveLine(line: string): void {
    const text = line.trim();
    if (text) this.answer(text);
  }

  /** Feed what the sidecar wrote to stdout: any chunk, whole lines or not (Tauri 2, Node). */
  receive(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.answer(line);
      newline = this.buffer.indexOf('\n');
    }
  }

  /** The sidecar is gone: every call still waiting, and every later one, fails with `reason`. */
  close(reason: Error = new Error('the session sidecar stopped')): void {
    this.closedWith = reason;
    for (const waiting of this.pending.values()) waiting.reject(reason);
    this.pending.clear();
  }

  /** Send one request; its result, or a SessionStoreError. */
  request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    const line = JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n';
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
      Promise.resolve()
        .then(() => this.send(line))
        .catch((error: unknown) => {
          this.pending.delete(id);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  }

  private answer(line: string): void {
    let message: Response;
    try {
      message = JSON.parse(line) as Response;
    } catch {
      return; // the sidecar writes nothing but responses; ignore what is not one
    }
    if (message.method === 'sessionsChanged' && message.id === undefined) {
      for (const listener of this.changeListeners) listener(message.params as SessionsChanged);
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) {
      const { code, message: text, data } = message.error;
      waiting.reject(new SessionStoreError(waiting.method, code, text, data?.class));
    } else {
      waiting.resolve(message.result);
    }
  }

  // --- the board's seven commands (tauriApi) -------------------------------------------------

  createSession(workspacePath: string, session: WorktreeSession): Promise<WorktreeSession> {
    return this.request('create_session', { workspacePath, session });
  }

  updateSession(workspacePath: string, session: WorktreeSession): Promise<WorktreeSession> {
    return this.request('update_session', { workspacePath, session });
  }

  /** Update the session with this id, or store it when there is none (the debate runner's). */
  upsertSession(workspacePath: string, session: WorktreeSession): Promise<WorktreeSession> {
    return this.request('upsert_session', { workspacePath, session });
  }

  getSession(workspacePath: string, sessionId: string): Promise<WorktreeSession> {
    return this.request('get_session', { workspacePath, sessionId });
  }

  getAllSessions(workspacePath: string): Promise<WorktreeSession[]> {
    return this.request('get_all_sessions', { workspacePath });
  }

  /** Deleting an id the workspace does not have succeeds, as in the editor. */
  async deleteSession(workspacePath: string, sessionId: string): Promise<void> {
    await this.request<null>('delete_session', { workspacePath, sessionId });
  }

  addChatMessage(workspacePath: string, sessionId: string, message: ChatMessage): Promise<WorktreeSession> {
    return this.request('add_chat_message', { workspacePath, sessionId, message });
  }

  updateInstanceStatus(
    workspacePath: string,
    sessionId: string,
    instanceId: number,
    newStatus: string,
  ): Promise<WorktreeSession> {
    return this.request('update_instance_status', { workspacePath, sessionId, instanceId, newStatus });
  }

  /** Add `text` at the end of one instance's output (as an agent's output streams in); the
   * store writes what was appended, not the whole output, and answers nothing. */
  async appendInstanceOutput(
    workspacePath: string,
    sessionId: string,
    instanceId: number,
    text: string,
  ): Promise<void> {
    await this.request('append_instance_output', { workspacePath, sessionId, instanceId, text });
  }

  // --- queries and search --------------------------------------------------------------------

  listSessions(
    workspacePath: string,
    filters?: SessionFilters,
    sort?: SessionSortOptions,
    options: QueryOptions = {},
  ): Promise<SessionSummary[]> {
    return this.request('list_sessions', { workspacePath, filters, sort, ...options });
  }

  querySessions(
    workspacePath: string,
    filters?: SessionFilters,
    sort?: SessionSortOptions,
    options: QueryOptions = {},
  ): Promise<WorktreeSession[]> {
    return this.request('query_sessions', { workspacePath, filters, sort, ...options });
  }

  countSessions(workspacePath: string, filters?: SessionFilters, timeZone?: string): Promise<number> {
    return this.request('count_sessions', { workspacePath, filters, timeZone });
  }

  /** Full text over tasks, messages and agent output, best first; `prefix` for search as you type. */
  search(workspacePath: string, query: string, limit = 50, prefix = false): Promise<SearchHit[]> {
    return this.request('search', { workspacePath, query, limit, prefix });
  }

  // --- day-to-day operations -------------------------------------------------------------------

  listWorkspaces(): Promise<WorkspaceInfo[]> {
    return this.request('list_workspaces', {});
  }

  /** A number that changes whenever anyone writes to the store: poll it, re-read on change. */
  dataVersion(): Promise<number> {
    return this.request('data_version', {});
  }

  // --- change notifications ------------------------------------------------------------------

  /** Hear `sessionsChanged` for `workspacePath` from now on (another window, an import, the
   * debate runner); the listeners of `onSessionsChanged` are called. */
  subscribe(workspacePath: string): Promise<SessionsChanged> {
    return this.request('subscribe', { workspacePath });
  }

  async unsubscribe(workspacePath: string): Promise<void> {
    await this.request<null>('unsubscribe', { workspacePath });
  }

  /** Call `listener` with each `sessionsChanged`; the function returned removes it. */
  onSessionsChanged(listener: (change: SessionsChanged) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  prune(
    workspacePath: string,
    options: { olderThan?: string; statuses?: string[]; dryRun?: boolean; timeZone?: string },
  ): Promise<PruneReport> {
    return this.request('prune', { workspacePath, ...options });
  }
}
