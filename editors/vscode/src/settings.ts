// `tandem.*` VS Code settings → what the server gets. No `vscode` import (unit-tested).

/** Every key of the server's `tandem` section (lsp_server/settings.py), camelCase on the wire. */
export const SERVER_SETTING_KEYS = [
  'model',
  'draftModel',
  'engine',
  'endpoint',
  'apiKey',
  'modelName',
  'tokenizer',
  'maxTokens',
  'chatMaxTokens',
  'temperature',
  'enable',
  'fimTemplate',
  'maxPromptTokens',
  'speculative',
  'numSpeculativeTokens',
  'device',
  'threads',
  'contextSize',
  'completionMode',
  'completionPrompt',
  'maxDocumentBytes',
  'clientRequestTimeoutS',
  'completionTimeoutS',
  'chatTimeoutS',
  'excludeGlobs',
  'promptFormat',
  'enabled',
  'disabledLanguages',
  'candidates',
  'eventsLog',
  'eventsLogEnabled',
  'slowLatencyMs',
  'debounce',
  'nextEdit',
  'nextEditModel',
  'nextEditFormat',
  'nextEditMaxTokens',
] as const;

/** Settings only the extension uses: how to start the server. */
export const CLIENT_SETTING_KEYS = ['serverPath', 'serverArgs'] as const;

export type SettingsReader = (key: string) => unknown;

/**
 * The server's settings object. Null is kept on purpose: it means "back to the default", and a
 * missing key would leave the server's current value in place after didChangeConfiguration.
 * Empty strings mean "unset" in the settings UI, so they become null too.
 */
export function toServerSettings(read: SettingsReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = read(key);
    if (value === undefined) {
      continue;
    }
    out[key] = value === '' ? null : value;
  }
  return out;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/** How to start the server: `tandem.serverPath` + `tandem.serverArgs` (default `tandem lsp`). */
export function serverCommand(read: SettingsReader): ServerCommand {
  const path = read('serverPath');
  const args = read('serverArgs');
  const command = typeof path === 'string' && path.trim() !== '' ? path.trim() : 'tandem';
  const list =
    Array.isArray(args) && args.every((a) => typeof a === 'string') ? (args as string[]) : ['lsp'];
  return { command, args: list };
}

/** Whether a changed setting needs a server restart rather than didChangeConfiguration. */
export function needsRestart(changedKey: string): boolean {
  return (CLIENT_SETTING_KEYS as readonly string[]).includes(changedKey);
}
