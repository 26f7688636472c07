import { escapeHtml } from './html';

/**
 * Progress for long work, shown where the user is looking: a redrawn bar on a terminal, a line
 * every few seconds in a log (CI, pipes), and a live-updating bar in a notebook cell.
 */
export type ProgressMode = 'tty' | 'lines' | 'notebook' | 'silent';

export interface Progress {
  /** Advances to `done` of `total`; `info` is shown beside the bar (for example `loss 0.42`). */
  update(done: number, info?: string): void;
  /** Finishes the bar, printing a final line. */
  end(info?: string): void;
}

interface NotebookDisplay {
  html(s: string): void;
}

/** True inside a tslab kernel (the notebook), where output goes to the cell. */
export function inNotebook(): boolean {
  return process.argv.some((a) => /[\\/]tslab([\\/]|$)/.test(a) || a.endsWith('tslab'));
}

export function defaultProgressMode(): ProgressMode {
  const forced = process.env['ARTSTYLE_PROGRESS'];
  if (forced === 'tty' || forced === 'lines' || forced === 'notebook' || forced === 'silent')
    return forced;
  if (inNotebook()) return 'notebook';
  return process.stderr.isTTY ? 'tty' : 'lines';
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function createProgress(
  label: string,
  total: number,
  mode: ProgressMode = defaultProgressMode(),
): Progress {
  const t0 = Date.now();
  let lastDraw = 0;
  let lastDone = 0;
  let display: NotebookDisplay | undefined;
  if (mode === 'notebook') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      display = (require('tslab') as { newDisplay(): NotebookDisplay }).newDisplay();
    } catch {
      mode = 'lines';
    }
  }
  const text = (done: number, info?: string): string => {
    const elapsed = (Date.now() - t0) / 1000;
    const rate = done > 0 ? elapsed / done : NaN;
    const eta = total > done ? rate * (total - done) : 0;
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    return `${label} ${done}/${total} (${pct.toFixed(0)}%) ${formatSeconds(elapsed)} elapsed, ${formatSeconds(eta)} left${info ? ' | ' + info : ''}`;
  };
  const draw = (done: number, info: string | undefined, final: boolean): void => {
    const now = Date.now();
    const interval = mode === 'lines' ? 5000 : mode === 'notebook' ? 500 : 100;
    if (!final && now - lastDraw < interval && done !== total) return;
    lastDraw = now;
    if (mode === 'silent') return;
    if (mode === 'tty') {
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : width;
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text(done, info)}\x1b[K${final ? '\n' : ''}`,
      );
    } else if (mode === 'lines') {
      process.stderr.write(text(done, info) + '\n');
    } else if (display) {
      display.html(
        `<div style="font-family:monospace"><progress value="${done}" max="${total}" style="width:30em"></progress> ${escapeHtml(text(done, info))}</div>`,
      );
    }
  };
  return {
    update(done: number, info?: string) {
      lastDone = done;
      draw(done, info, false);
    },
    end(info?: string) {
      draw(lastDone, info, true);
    },
  };
}
