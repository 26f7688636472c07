import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import { PAIR_COLORS, axis, baseLayout, checkFinite, classStyle } from './theme';

export interface HistoryRow {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
}

type HistoryKey = 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy';

function checkHistory(history: readonly HistoryRow[], argument: string): void {
  check(
    Array.isArray(history) && history.length > 0,
    argument,
    'must be a non-empty array of {epoch, loss, accuracy}',
  );
  history.forEach((row, i) => {
    checkFinite(row.epoch, `${argument}[${i}].epoch`);
    checkFinite(row.loss, `${argument}[${i}].loss`);
    checkFinite(row.accuracy, `${argument}[${i}].accuracy`);
    if (row.val_loss !== undefined) checkFinite(row.val_loss, `${argument}[${i}].val_loss`);
    if (row.val_accuracy !== undefined)
      checkFinite(row.val_accuracy, `${argument}[${i}].val_accuracy`);
  });
}

function series(history: readonly HistoryRow[], key: HistoryKey): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (const row of history) {
    const v = row[key];
    if (v !== undefined) {
      x.push(row.epoch);
      y.push(v);
    }
  }
  return { x, y };
}

/**
 * Accuracy (left) and loss (right) per epoch, training solid and validation dashed, in the two
 * fixed pair colours; one legend entry per series covers both panels.
 */
export function trainingCurvesFigure(
  history: readonly HistoryRow[],
  options: { title?: string } = {},
): Figure {
  checkHistory(history, 'history');
  const data: PlotTrace[] = [];
  const panels: Array<{ metric: 'accuracy' | 'loss'; xaxis: string; yaxis: string }> = [
    { metric: 'accuracy', xaxis: 'x', yaxis: 'y' },
    { metric: 'loss', xaxis: 'x2', yaxis: 'y2' },
  ];
  for (const [p, panel] of panels.entries()) {
    const parts: Array<[string, HistoryKey, number, string]> = [
      ['training', panel.metric, 0, 'solid'],
      ['validation', `val_${panel.metric}`, 1, 'dash'],
    ];
    for (const [name, key, c, dash] of parts) {
      const s = series(history, key);
      if (s.x.length === 0) continue;
      data.push({
        type: 'scatter',
        mode: history.length <= 30 ? 'lines+markers' : 'lines',
        name,
        legendgroup: name,
        showlegend: p === 0,
        x: s.x,
        y: s.y,
        xaxis: panel.xaxis,
        yaxis: panel.yaxis,
        line: { color: PAIR_COLORS[c], dash, width: 2 },
        marker: { size: 5 },
        hovertemplate: `epoch %{x}<br>${name} ${panel.metric}: %{y:.4f}<extra></extra>`,
      });
    }
  }
  return {
    data,
    layout: baseLayout(options.title ?? 'Training curves', {
      width: 960,
      height: 430,
      xaxis: axis('Epoch', { domain: [0, 0.45], anchor: 'y' }),
      yaxis: axis('Accuracy', { anchor: 'x', tickformat: '.0%' }),
      xaxis2: axis('Epoch', { domain: [0.55, 1], anchor: 'y2' }),
      yaxis2: axis('Loss', { anchor: 'x2' }),
    }),
  };
}

export interface SweepRun {
  /** Run name as shown in the legend, e.g. 'block3' for three frozen blocks. */
  label: string;
  history: readonly HistoryRow[];
}

/**
 * One line per run of a sweep for one validation metric, so the runs can be compared directly
 * (the seed's "accuracy and loss on the validation set for each model").
 */
export function sweepOverlayFigure(
  runs: readonly SweepRun[],
  metric: 'val_accuracy' | 'val_loss',
  options: { title?: string } = {},
): Figure {
  check(
    Array.isArray(runs) && runs.length > 0,
    'runs',
    'must be a non-empty array of {label, history}',
  );
  check(
    metric === 'val_accuracy' || metric === 'val_loss',
    'metric',
    `must be 'val_accuracy' or 'val_loss', got ${String(metric)}`,
  );
  const labels = new Set<string>();
  const data: PlotTrace[] = runs.map((run, i) => {
    check(
      typeof run.label === 'string' && run.label !== '',
      `runs[${i}].label`,
      'must be a non-empty string',
    );
    check(
      !labels.has(run.label),
      `runs[${i}].label`,
      `duplicate run label ${JSON.stringify(run.label)}`,
    );
    labels.add(run.label);
    checkHistory(run.history, `runs[${i}].history`);
    const s = series(run.history, metric);
    check(s.x.length > 0, `runs[${i}].history`, `has no ${metric} values (was the run validated?)`);
    const style = classStyle(i);
    return {
      type: 'scatter',
      mode: 'lines',
      name: run.label,
      x: s.x,
      y: s.y,
      line: { color: style.color, width: 2 },
      hovertemplate: `${run.label}<br>epoch %{x}<br>${metric}: %{y:.4f}<extra></extra>`,
    };
  });
  const isAccuracy = metric === 'val_accuracy';
  return {
    data,
    layout: baseLayout(options.title ?? `Validation ${isAccuracy ? 'accuracy' : 'loss'} per run`, {
      xaxis: axis('Epoch'),
      yaxis: axis(
        isAccuracy ? 'Validation accuracy' : 'Validation loss',
        isAccuracy ? { tickformat: '.0%' } : {},
      ),
      legend: { orientation: 'v', x: 1.02, y: 1, xanchor: 'left', yanchor: 'top' },
    }),
  };
}
