// The status bar item, fed by tandem/status.
import * as vscode from 'vscode';
import { TandemStatus } from './protocol';
import { formatStatus } from './statusFormat';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tandem.status', vscode.StatusBarAlignment.Right, 100);
  private last: TandemStatus | undefined;

  constructor() {
    this.item.name = 'Tandem';
    this.item.command = 'tandem.statusMenu'; // enable / disable / snooze / details
    this.update(undefined);
    this.item.show();
  }

  get status(): TandemStatus | undefined {
    return this.last;
  }

  update(status: TandemStatus | undefined): void {
    this.last = status;
    const view = formatStatus(status);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  /** A transient state (CodeChat streaming) without losing the last request's numbers. */
  busy(text: string | undefined): void {
    if (text) {
      this.item.text = `$(sync~spin) Tandem: ${text}`;
    } else {
      this.update(this.last);
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
