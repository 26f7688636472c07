import { seedSpreadFigure, type Figure } from '../plots';
import { pct } from './notebook';
import {
  MODEL_NAMES,
  SEED_METRICS,
  type GenreModelsResult,
  type MetricSpread,
  type ModelResult,
  type PairedDifference,
  type SeedMetric,
  type SeedStudy,
  type SplitKind,
} from './study2';

/**
 * The second study's tables, figures and text from its plain results: what notebook 05 shows and
 * what `artstyle features` prints and exports. Nothing is computed here beyond arranging results.
 */

type Row = Record<string, string | number>;

/** One row per network: the seed's accuracy beside the reviewer's metrics. */
export function metricRows(result: GenreModelsResult): Row[] {
  return result.models.map((m) => ({
    model: m.model,
    'top-genre accuracy': pct(m.report.anyMatchAccuracy),
    'subset accuracy': pct(m.report.subsetAccuracy),
    'Hamming loss': m.report.hammingLoss,
    'micro P': m.report.micro.precision,
    'micro R': m.report.micro.recall,
    'micro F1': m.report.micro.f1,
    'macro F1': m.report.macro.f1,
  }));
}

export function metricsCaption(result: GenreModelsResult): string {
  return `Test metrics, split by ${result.split} (${result.trainRows} train, ${result.testRows} test)`;
}

/** Per-genre precision, recall, F1 at threshold 0.5 of one network. */
export function perGenreRows(model: ModelResult): Row[] {
  return model.report.perLabel.map((g) => ({
    genre: g.label,
    precision: g.precision,
    recall: g.recall,
    f1: g.f1,
    support: g.support,
    predicted: g.predicted,
  }));
}

/** The gradient-boosted ensemble after each member: what every member adds. */
export function boostingStageRows(result: GenreModelsResult): Row[] {
  const gb = result.models.find((m) => m.model === 'GBNN');
  if (!gb?.stages) return [];
  return gb.stages.map((s, i) => {
    const before = gb.stages?.[i - 1];
    return {
      member: s.member === 0 ? '0 (prior logits)' : s.member,
      'train BCE': s.trainLoss,
      'train top-genre': pct(s.trainAccuracy),
      'test BCE': s.testLoss,
      'test top-genre': pct(s.testAccuracy),
      'test change': before
        ? `${s.testAccuracy >= before.testAccuracy ? '+' : ''}${(100 * (s.testAccuracy - before.testAccuracy)).toFixed(1)}`
        : '',
    };
  });
}

export function splitComparisonRows(
  byPainting: GenreModelsResult,
  byArtist: GenreModelsResult,
): Row[] {
  return byPainting.models.map((m, i) => ({
    model: m.model,
    'by painting': pct(m.report.anyMatchAccuracy),
    'by artist': pct(byArtist.models[i]?.report.anyMatchAccuracy ?? NaN),
  }));
}

const share = (metric: SeedMetric, v: number): string =>
  metric === 'Hamming loss' ? v.toFixed(3) : (100 * v).toFixed(1);

/** Mean ± standard deviation over the seeds of every metric, one row per network. */
export function seedSpreadRows(spreads: readonly MetricSpread[], split: SplitKind): Row[] {
  return MODEL_NAMES.map((model) => {
    const row: Row = { model };
    for (const metric of SEED_METRICS) {
      const s = spreads.find((x) => x.split === split && x.model === model && x.metric === metric);
      if (s) row[metric] = `${share(metric, s.mean)} ± ${share(metric, s.sd)}`;
    }
    return row;
  });
}

export function seedSpreadCaption(study: SeedStudy, split: SplitKind): string {
  const n = study.runs.filter((r) => r.split === split).length;
  return `Split by ${split}: mean ± sd over ${n} seeds (${study.seeds.join(', ')}); percent, the Hamming loss as a share`;
}

/** Each network minus the SNN on the same splits, with both paired tests. */
export function pairedRows(
  diffs: readonly PairedDifference[],
  split: SplitKind,
  metrics: readonly SeedMetric[] = ['top-genre accuracy', 'micro F1', 'macro F1'],
): Row[] {
  return diffs
    .filter((d) => d.split === split && metrics.includes(d.metric))
    .map((d) => ({
      comparison: `${d.model} - ${d.baseline}`,
      metric: d.metric,
      'mean difference': share(d.metric, d.t.meanDifference),
      'sd of differences': share(d.metric, d.t.sdDifference),
      'better on': `${d.wins}/${d.differences.length} seeds`,
      't (paired)': Number.isFinite(d.t.statistic) ? d.t.statistic : String(d.t.statistic),
      'p (t)': Number.isNaN(d.t.pValue) ? 'n/a' : d.t.pValue,
      'p (Wilcoxon)': d.wilcoxon.pValue,
    }));
}

/**
 * A difference counts as real here when the paired t-test gives p < 0.05 and the model is on the
 * same side of the SNN on every seed (with 5 seeds the exact signed-rank test cannot go below
 * 0.0625, so "every seed" is the rank test's strongest possible answer).
 */
export function isRealDifference(d: PairedDifference): boolean {
  const n = d.differences.length;
  return d.t.pValue < 0.05 && (d.wins === n || d.wins === 0);
}

/** One line per split and network: the top-genre accuracy difference to the SNN and its verdict. */
export function seedConclusion(diffs: readonly PairedDifference[]): string {
  return diffs
    .filter((d) => d.metric === 'top-genre accuracy')
    .map((d) => {
      const sign = d.t.meanDifference >= 0 ? '+' : '';
      const verdict = isRealDifference(d)
        ? d.t.meanDifference > 0
          ? 'better, beyond the seed-to-seed spread'
          : 'worse, beyond the seed-to-seed spread'
        : 'not distinguishable from the SNN at this size';
      return `split by ${d.split}: ${d.model} - SNN = ${sign}${(100 * d.t.meanDifference).toFixed(1)} points (sd ${(100 * d.t.sdDifference).toFixed(1)}), better on ${d.wins}/${d.differences.length} seeds, paired t p = ${Number.isNaN(d.t.pValue) ? 'n/a' : d.t.pValue.toPrecision(2)}, Wilcoxon p = ${d.wilcoxon.pValue.toPrecision(2)}: ${verdict}`;
    })
    .join('\n');
}

/** Every seed's value of one metric, per network, both splits side by side. */
export function seedSpreadFigureOf(
  study: SeedStudy,
  metric: SeedMetric = 'top-genre accuracy',
): Figure {
  return seedSpreadFigure(
    study.runs.flatMap((r) =>
      MODEL_NAMES.map((model) => ({
        model,
        group: r.split,
        seed: r.seed,
        value: r.metrics[model][metric],
      })),
    ),
    {
      title: `${metric[0]?.toUpperCase()}${metric.slice(1)} over ${study.seeds.length} seeds, split by painting and by artist`,
      metric,
      share: metric !== 'Hamming loss',
    },
  );
}
