/**
 * The AIT42 board's session types (upstream src/types/worktree.ts), as the sidecar sends and
 * takes them: camelCase keys; a missing optional value comes back as null.
 */

export type SessionType = 'competition' | 'ensemble' | 'debate';
/** The board's four, and the debate runner's statuses while its rounds run. */
export type SessionStatus =
  | 'running' | 'completed' | 'failed' | 'paused'
  | 'round_1' | 'round_2' | 'round_3';
export type InstanceStatus = 'idle' | 'running' | 'completed' | 'failed' | 'paused' | 'archived';

export interface WorktreeInstance {
  instanceId: number;
  worktreePath: string;
  branch: string;
  agentName: string;
  status: InstanceStatus;
  tmuxSessionId: string;
  output?: string | null;
  startTime?: string | null;
  endTime?: string | null;
  filesChanged?: number | null;
  linesAdded?: number | null;
  linesDeleted?: number | null;
  runtime?: string | null;
  model?: string | null;
  runtimeLabel?: string | null;
  /** Keys the board adds (testsPassed, ...) are kept and come back. */
  [key: string]: unknown;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  timestamp: string;
  instanceId?: number | null;
  [key: string]: unknown;
}

export interface WorktreeSession {
  id: string;
  type: SessionType;
  task: string;
  status: SessionStatus;
  createdAt: string;
  updatedAt: string;
  completedAt?: string | null;
  model?: string | null;
  timeoutSeconds?: number | null;
  preserveWorktrees?: boolean | null;
  winnerId?: number | null;
  runtimeMix?: string[] | null;
  totalDuration?: number | null;
  totalFilesChanged?: number | null;
  totalLinesAdded?: number | null;
  totalLinesDeleted?: number | null;
  instances: WorktreeInstance[];
  chatHistory: ChatMessage[];
  /** Keys the board adds (evaluation, integrationPhase, ...) are kept and come back. */
  [key: string]: unknown;
}

/** The board's filters: singular keys, each list an array. */
export interface SessionFilters {
  type?: SessionType[];
  status?: SessionStatus[];
  /** `2025-01-13` (the whole day), `2025-01-13T10:00` (that minute) or RFC 3339. */
  dateFrom?: string;
  dateTo?: string;
  /** Trimmed; only whitespace is no filter. */
  searchQuery?: string;
}

export interface SessionSortOptions {
  field: 'createdAt' | 'updatedAt' | 'duration' | 'filesChanged';
  direction: 'asc' | 'desc';
}

/** A session without instances, messages or extra keys, with their counts. */
export interface SessionSummary {
  id: string;
  type: SessionType;
  task: string;
  status: SessionStatus;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  model: string | null;
  timeoutSeconds: number | null;
  preserveWorktrees: boolean | null;
  winnerId: number | null;
  runtimeMix: string[] | null;
  totalDuration: number | null;
  totalFilesChanged: number | null;
  totalLinesAdded: number | null;
  totalLinesDeleted: number | null;
  workspaceHash: string | null;
  instanceCount: number;
  messageCount: number;
}

export interface SearchHit {
  sessionId: string;
  kind: 'task' | 'message' | 'output';
  /** Matches marked with [ and ]. */
  snippet: string;
  /** Lower is better. */
  rank: number;
  messageId: string | null;
  instanceId: number | null;
}

export interface WorkspaceInfo {
  hash: string;
  path: string | null;
  /** For a hash whose sessions joined another workspace: that workspace's hash. */
  joinedTo: string | null;
  sessionCount: number;
  lastActivity: string | null;
}

export interface PruneReport {
  sessionIds: string[];
  dryRun: boolean;
}

/** Options of the query methods beyond the board's filter and sort objects. */
export interface QueryOptions {
  limit?: number;
  offset?: number;
  /** The time zone of dates without an offset in the filters: an IANA name or `+09:00`. */
  timeZone?: string;
}
