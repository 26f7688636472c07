import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendSelection } from '../backend/select';
import { tslabDisplaySender } from '../plots/kernel';
import type { RunParams } from './params';
import { projectRoot } from './params';
import { escapeHtml } from '../util/html';

/** A package's installed version, or 'not installed'. */
function packageVersion(name: string): string {
  try {
    const file = path.join(projectRoot(), 'node_modules', name, 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export interface RunBanner {
  backend: BackendSelection;
  versions: Record<string, string>;
}

/**
 * The first cell of every notebook: chooses the backend (printing why), then prints the versions
 * and the run's parameters, so an executed notebook records what produced its numbers.
 */
export async function startNotebook(params: RunParams): Promise<RunBanner> {
  const backend = await selectBackend();
  const versions: Record<string, string> = {
    node: process.versions.node,
    '@tensorflow/tfjs': tf.version.tfjs,
    tslab: packageVersion('tslab'),
    sharp: packageVersion('sharp'),
    'danfojs-node': packageVersion('danfojs-node'),
    'ml-matrix': packageVersion('ml-matrix'),
    'plotly.js-dist': packageVersion('plotly.js-dist'),
  };
  console.log(
    `versions: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(`profile: ${params.profile}   seed: ${params.seed}`);
  console.log(`sculptures: ${params.sculpturesDir}`);
  console.log(`paintings:  ${params.paintingsDir}`);
  console.log(`output:     ${params.outDir}`);
  return { backend, versions };
}

export type Cell = string | number | boolean | null | undefined;

/** A table as a notebook and the CLI both show it: rows and a caption (lib/pipeline/views1). */
export interface TableView {
  caption: string;
  rows: Record<string, Cell>[];
}

function formatCell(v: Cell, digits: number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (v === null || v === undefined) return '';
  return String(v);
}

export interface TableOptions {
  caption?: string;
  /** Column order and subset; default: the keys of the first row. */
  columns?: string[];
  /** Decimals for non-integer numbers (default 3). */
  digits?: number;
}

/** Renders rows as a plain-text table (what a terminal or a log shows). */
export function textTable(rows: Record<string, Cell>[], options: TableOptions = {}): string {
  const columns = options.columns ?? Object.keys(rows[0] ?? {});
  const digits = options.digits ?? 3;
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c], digits)));
  const widths = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    options.caption ?? '',
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
  ]
    .filter((l, i) => i > 0 || l)
    .join('\n');
}

/**
 * Shows a table: HTML in a notebook (text/plain beside it for consoles), text elsewhere. Takes
 * plain rows, or anything with `columns` and `values` such as a danfojs DataFrame.
 */
export function showTable(
  table: Record<string, Cell>[] | { columns: string[]; values: unknown[] },
  options: TableOptions = {},
): void {
  const rows: Record<string, Cell>[] = Array.isArray(table)
    ? table
    : (table.values as Cell[][]).map((vals) =>
        Object.fromEntries(table.columns.map((c, i) => [c, vals[i]])),
      );
  const columns =
    options.columns ?? (Array.isArray(table) ? Object.keys(rows[0] ?? {}) : table.columns);
  const text = textTable(rows, { ...options, columns });
  const send = tslabDisplaySender();
  if (!send) {
    console.log(text);
    return;
  }
  const digits = options.digits ?? 3;
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${columns.map((c) => `<td>${escapeHtml(formatCell(r[c], digits))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const caption = options.caption
    ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>`
    : '';
  const html = `<table class="artstyle-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
  send({ data: { 'text/html': html, 'text/plain': text }, metadata: {}, transient: {} }, false);
}

/** Percent with one decimal, as the seed reports accuracies. */
export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** A table view in the notebook (showTable with its caption). */
export function showView(view: TableView): void {
  showTable(view.rows, { caption: view.caption });
}

/** A table view as plain text, for the CLI and logs. */
export function viewText(view: TableView): string {
  return textTable(view.rows, { caption: view.caption });
}
