// Tandem's custom LSP messages (server side: lsp_server/protocol.py). No `vscode` import.

export const STATUS_NOTIFICATION = 'tandem/status';
export const CHAT_PROGRESS_NOTIFICATION = 'tandem/chatProgress';
export const CHAT_RESULT_NOTIFICATION = 'tandem/chatResult';
export const STATUS_COMMAND = 'tandem.status';

/** Client capabilities as far as Tandem reads them (a structural subset of LSP's). */
export interface ExperimentalCapabilities {
  experimental?: unknown;
}

/** Declare `capabilities.experimental.tandem.chatResult = true` (protocol.py
 * CHAT_RESULT_CAPABILITY): we show each CodeChat outcome ourselves from its tandem/chatResult, so
 * the server sends us no window/showMessage copy. Keeps any other experimental keys. */
export function declareChatResult(capabilities: ExperimentalCapabilities): void {
  const experimental = (typeof capabilities.experimental === 'object' && capabilities.experimental !== null
    ? capabilities.experimental
    : {}) as Record<string, unknown>;
  const tandem = (typeof experimental.tandem === 'object' && experimental.tandem !== null ? experimental.tandem : {}) as Record<string, unknown>;
  capabilities.experimental = { ...experimental, tandem: { ...tandem, chatResult: true } };
}

export const DID_SHOW_NOTIFICATION = 'tandem/didShowCompletion';
export const DID_ACCEPT_NOTIFICATION = 'tandem/didAcceptCompletion';
export const DID_PARTIALLY_ACCEPT_NOTIFICATION = 'tandem/didPartiallyAcceptCompletion';
/** Server command on every returned item (clients that just run the item's command). */
export const ACCEPT_COMMAND = 'tandem.completionAccepted';
/** Server command: {minutes} (0 ends the snooze); returns the status. */
export const SNOOZE_COMMAND = 'tandem.snooze';

export interface CompletionEventParams {
  id: string;
}

export interface PartialAcceptParams {
  id: string;
  /** Characters (code points) of the suggestion accepted so far, cumulative. */
  acceptedLength: number;
}

export type EngineState = 'loading' | 'ready' | 'generating' | 'error' | 'disabled' | 'snoozed';

export interface SessionSummary {
  suggestions: number;
  shown: number;
  accepted: number;
  partiallyAccepted: number;
  acceptedChars: number;
  acceptanceRate: number | null;
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  speculativeAcceptance: number | null;
}

export interface Health {
  state: 'healthy' | 'slow' | 'error' | string;
  reason?: string;
  hint?: string;
}

export interface GenerationStats {
  strategy?: string;
  ttft_ms?: number;
  tokens_per_second?: number;
  acceptance_rate?: number;
  drafted_tokens?: number;
  accepted_tokens?: number;
  generated_tokens?: number;
  prefix_tokens_reused?: number;
  prompt_tokens?: number;
  [key: string]: unknown;
}

export interface TandemStatus {
  state: EngineState | string;
  message?: string;
  engine?: string;
  model?: string;
  request?: {
    kind: 'inline' | 'completion' | 'codechat' | string;
    latencyMs?: number;
    cached?: boolean;
    /** Completions: how long the adaptive debounce held the request. */
    debounceMs?: number;
    /** Completions: server time by stage (context, prepare, generate, finalize). */
    timingsMs?: Record<string, number>;
    stats?: GenerationStats;
    action?: string;
  };
  enabled?: boolean;
  disabledLanguages?: string[];
  snoozedUntil?: number | null;
  session?: SessionSummary;
  health?: Health;
  /** How completion prompts are built for the loaded model. */
  prompt?: PromptInfo;
}

export interface PromptInfo {
  /** "fim": the model's FIM tokens; "prefix": no FIM tokens, the model continues the prefix. */
  mode: 'fim' | 'prefix' | string;
  template: string;
  /** e.g. "fim: qwen", "prefix: the model has no FIM tokens". */
  description: string;
}

export interface ChatProgress {
  token: string | number;
  /** The whole visible answer so far: replace, don't append. */
  text: string;
  done: boolean;
  action: string;
  uri: string;
}

/** tandem/chatResult: the outcome of one CodeChat run, sent once to clients that declare
 * `capabilities.experimental.tandem.chatResult = true`. */
export interface ChatResult {
  token: string;
  action: string;
  uri: string;
  ok: boolean;
  message: string;
  markdown?: string;
  applied?: boolean;
  reason?: string;
}

/** CodeChat commands: each takes ONE argument object and answers a CodeChatResult. */
export const CODECHAT_KINDS = ['refactor', 'tests', 'docs', 'explain', 'ask'] as const;
export type CodeChatKind = (typeof CODECHAT_KINDS)[number];

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface CodeChatArgs {
  uri: string;
  range?: LspRange;
  position?: LspPosition;
  instruction?: string;
  version?: number;
}

export interface CodeChatResult {
  ok: boolean;
  message: string;
  markdown?: string;
  applied?: boolean;
  reason?: string;
  /** The run's token; with `pending`, its ChatResult follows. */
  token?: string;
  /** True when the command answered at once and the run goes on. */
  pending?: boolean;
}

export function isChatResult(x: unknown): x is ChatResult {
  return isCodeChatResult(x) && typeof (x as ChatResult).token === 'string' && typeof (x as ChatResult).action === 'string';
}

export function isCodeChatResult(x: unknown): x is CodeChatResult {
  return typeof x === 'object' && x !== null && typeof (x as CodeChatResult).ok === 'boolean';
}
