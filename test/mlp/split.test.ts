import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { splitByArtist, splitByPainting } from '../../lib/mlp/split';

test('splitByPainting: 80/20 partition, seeded', () => {
  const s = splitByPainting(101);
  assert.equal(s.test.length, 20);
  assert.equal(s.train.length, 81);
  assert.deepEqual(
    [...s.train, ...s.test].sort((a, b) => a - b),
    Array.from({ length: 101 }, (_, i) => i),
  );
  assert.deepEqual(splitByPainting(101), s);
  assert.notDeepEqual(splitByPainting(101, { seed: 1 }).test, s.test);
});

test('splitByArtist: no artist on both sides, test size near the fraction', () => {
  const artists: string[] = [];
  for (let a = 0; a < 20; a++) for (let k = 0; k < 3 + (a % 5) * 4; k++) artists.push(`artist${a}`);
  const s = splitByArtist(artists, { testFraction: 0.2, seed: 3 });
  const trainArtists = new Set(s.train.map((i) => artists[i]));
  for (const i of s.test) assert.ok(!trainArtists.has(artists[i]), `${artists[i]} in both`);
  assert.equal(s.train.length + s.test.length, artists.length);
  assert.ok(Math.abs(s.test.length - 0.2 * artists.length) <= 11, `test ${s.test.length}`);
  assert.throws(() => splitByArtist(['a', 'a']), /at least 2 distinct/);
  assert.throws(() => splitByArtist(['a', ''], {}), /artists\[1\]/);
});
