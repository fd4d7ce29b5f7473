// Run-time toggles and the status bar menu's choices. No `vscode` import (unit-tested).
import { TandemStatus } from './protocol';

export const SNOOZE_MINUTES = 30;

/** The new `tandem.disabledLanguages` after toggling `language`. */
export function toggleLanguage(disabled: readonly string[], language: string): string[] {
  return disabled.includes(language) ? disabled.filter((l) => l !== language) : [...disabled, language];
}

export interface MenuChoice {
  label: string;
  action: 'enable' | 'disable' | 'toggleLanguage' | 'snooze' | 'unsnooze' | 'details' | 'output' | 'restart';
}

/** What clicking the status bar offers, given the settings and the last status. */
export function menuChoices(
  enabled: boolean,
  disabled: readonly string[],
  language: string | undefined,
  status: TandemStatus | undefined,
): MenuChoice[] {
  const out: MenuChoice[] = [];
  out.push(enabled ? { label: '$(circle-slash) Disable suggestions', action: 'disable' } : { label: '$(check) Enable suggestions', action: 'enable' });
  if (language) {
    out.push(
      disabled.includes(language)
        ? { label: `$(check) Enable suggestions for ${language}`, action: 'toggleLanguage' }
        : { label: `$(circle-slash) Disable suggestions for ${language}`, action: 'toggleLanguage' },
    );
  }
  if (status?.state === 'snoozed') {
    out.push({ label: '$(bell) End snooze', action: 'unsnooze' });
  } else {
    out.push({ label: `$(bell-slash) Snooze for ${SNOOZE_MINUTES} minutes`, action: 'snooze' });
  }
  out.push(
    { label: '$(info) Status details', action: 'details' },
    { label: '$(output) Show output', action: 'output' },
    { label: '$(debug-restart) Restart server', action: 'restart' },
  );
  return out;
}
