import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MODEL_NAMES,
  pairedDifferences,
  SEED_METRICS,
  seedSpreads,
  type SeedRun,
  type SeedStudy,
} from '../../lib/pipeline/study2';
import {
  isRealDifference,
  pairedRows,
  seedConclusion,
  seedSpreadFigureOf,
  seedSpreadRows,
} from '../../lib/pipeline/views2';

/** A study where GBNN beats the SNN by 5 points on every seed and Adam's sign flips. */
function study(): SeedStudy {
  const seeds = [1, 2, 3, 4, 5];
  const runs: SeedRun[] = [];
  for (const split of ['painting', 'artist'] as const)
    seeds.forEach((seed, i) => {
      const base = 0.5 + 0.02 * i;
      const acc: Record<string, number> = {
        SNN: base,
        BNN: base - 0.3,
        Adam: base + (i % 2 ? 0.04 : -0.04),
        GBNN: base + 0.05 + 0.001 * i,
      };
      const metrics = Object.fromEntries(
        MODEL_NAMES.map((m) => [
          m,
          Object.fromEntries(SEED_METRICS.map((k) => [k, k === 'Hamming loss' ? 0.1 : acc[m]!])),
        ]),
      ) as SeedRun['metrics'];
      runs.push({ split, seed, trainRows: 80, testRows: 20, seconds: 1, metrics });
    });
  return { seeds, runs };
}

test('mean and sd per split, network and metric', () => {
  const spreads = seedSpreads(study());
  assert.equal(spreads.length, 2 * MODEL_NAMES.length * SEED_METRICS.length);
  const snn = spreads.find(
    (s) => s.split === 'artist' && s.model === 'SNN' && s.metric === 'micro F1',
  )!;
  assert.ok(Math.abs(snn.mean - 0.54) < 1e-12);
  // sd of 0.50, 0.52, ..., 0.58 (n - 1): 0.02 * sqrt(2.5)
  assert.ok(Math.abs(snn.sd - 0.02 * Math.sqrt(2.5)) < 1e-12);
  const rows = seedSpreadRows(spreads, 'painting');
  assert.equal(rows.length, 4);
  assert.equal(rows[0]!['top-genre accuracy'], '54.0 ± 3.2');
  assert.equal(rows[0]!['Hamming loss'], '0.100 ± 0.000');
});

test('paired differences to the SNN: a consistent gain is real, a flipping one is not', () => {
  const diffs = pairedDifferences(study());
  const gb = diffs.find(
    (d) => d.split === 'painting' && d.model === 'GBNN' && d.metric === 'top-genre accuracy',
  )!;
  assert.equal(gb.wins, 5);
  assert.ok(gb.t.pValue < 1e-6);
  assert.ok(Math.abs(gb.wilcoxon.pValue - 0.0625) < 1e-12);
  assert.equal(isRealDifference(gb), true);
  const adam = diffs.find(
    (d) => d.split === 'painting' && d.model === 'Adam' && d.metric === 'top-genre accuracy',
  )!;
  assert.equal(adam.wins, 2);
  assert.equal(isRealDifference(adam), false);
  const bnn = diffs.find(
    (d) => d.split === 'artist' && d.model === 'BNN' && d.metric === 'macro F1',
  )!;
  assert.equal(bnn.wins, 0);
  assert.ok(Math.abs(bnn.t.meanDifference + 0.3) < 1e-12);
  const text = seedConclusion(diffs);
  assert.match(
    text,
    /split by painting: GBNN - SNN = \+5\.2 points .*better on 5\/5 seeds.*better, beyond the seed-to-seed spread/,
  );
  assert.match(text, /split by painting: Adam - SNN .*not distinguishable/);
  const rows = pairedRows(diffs, 'artist');
  assert.equal(rows.length, 3 * 3);
  assert.equal(rows[0]!.comparison, 'BNN - SNN');
});

test('the spread figure has one box per split with every seed', () => {
  const fig = seedSpreadFigureOf(study());
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['painting', 'artist'],
  );
  assert.equal(fig.data[0]!.y!.length, 5 * MODEL_NAMES.length);
  assert.equal(fig.data[0]!.type, 'box');
  assert.deepEqual([...new Set(fig.data[1]!.x)], [...MODEL_NAMES]);
});
