import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { metadataProfiles, type MetadataStudyConfig } from '../../lib/config/study2';
import { defaultParams, type RunParams } from '../../lib/pipeline/params';
import {
  makeSplit,
  repeatOverSeeds,
  trainGenreModels,
  type GenreData,
} from '../../lib/pipeline/study2';
import { Rng } from '../../lib/util/rng';

/** Small networks on 120 random paintings of 12 artists: each (split, seed) trains in a moment. */
function setup(): { params: RunParams; config: MetadataStudyConfig; data: GenreData } {
  const rng = new Rng(4);
  const rows = 120;
  const data: GenreData = {
    X: Array.from({ length: rows }, () => Array.from({ length: 8 }, () => rng.normal())),
    Y: Array.from({ length: rows }, () =>
      Array.from({ length: 5 }, (_, g) => (g === 0 || rng.uniform() < 0.3 ? 1 : 0)),
    ),
    genres: ['a', 'b', 'c', 'd', 'e'],
    artists: Array.from({ length: rows }, (_, i) => `artist ${i % 12}`),
    ids: Array.from({ length: rows }, (_, i) => `p${i}.jpg`),
  };
  const config = structuredClone(metadataProfiles.smoke);
  config.snn = { ...config.snn, hiddenSizes: [12, 6], epochs: 2 };
  config.bnn = { ...config.bnn, epochs: 1 };
  config.adam = { ...config.adam, epochs: 2 };
  config.gbnn = { ...config.gbnn, hiddenSizes: [6, 4], nModels: 2, epochs: 1 };
  config.seeds = { count: 3 };
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-seeds-'));
  return { params: { ...defaultParams('smoke'), seed: 42, outDir }, config, data };
}

const withoutSeconds = (runs: { seconds: number }[]): unknown[] =>
  runs.map((r) => ({ ...r, seconds: 0 }));

test('repeatOverSeeds: worker threads give the same runs, in the same order, as one thread', async () => {
  const one = setup();
  const two = { ...setup(), data: one.data };
  const a = await repeatOverSeeds(one.params, one.config, one.data, { workers: 1, log: null });
  const lines: string[] = [];
  const b = await repeatOverSeeds(two.params, two.config, two.data, {
    workers: 2,
    log: (l) => lines.push(l),
  });
  assert.deepEqual(
    a.runs.map((r) => `${r.split} ${r.seed}`),
    ['painting 42', 'painting 43', 'painting 44', 'artist 42', 'artist 43', 'artist 44'],
  );
  assert.deepEqual(withoutSeconds(b.runs), withoutSeconds(a.runs));
  assert.equal(lines.length, 6);
  // Every run saved on its own; a second call resumes from the files and trains nothing.
  const files = fs.readdirSync(path.join(two.params.outDir, 'features', 'seeds')).sort();
  assert.equal(files.length, 6);
  const again: string[] = [];
  const c = await repeatOverSeeds(two.params, two.config, two.data, {
    workers: 2,
    log: (l) => again.push(l),
  });
  assert.deepEqual(c.runs, b.runs);
  assert.deepEqual(again, []);
  await assert.rejects(
    repeatOverSeeds(one.params, one.config, one.data, { workers: 0 }),
    /workers: expected an integer >= 1, got 0/,
  );
});

test('trainGenreModels without histories: the same networks and test metrics, no loss passes', () => {
  const { config, data } = setup();
  const split = makeSplit(data, 'artist', config, 43);
  const full = trainGenreModels(data, split, 'artist', config, 43, null);
  const lean = trainGenreModels(data, split, 'artist', config, 43, null, { histories: false });
  for (const [i, m] of full.models.entries()) {
    const l = lean.models[i];
    assert.equal(l?.model, m.model);
    assert.deepEqual(l?.report, m.report);
    assert.ok(m.losses.length > 0);
    assert.deepEqual(l?.losses, []);
  }
  assert.ok(full.models[3]?.stages !== undefined);
  assert.equal(lean.models[3]?.stages, undefined);
});
