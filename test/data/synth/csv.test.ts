import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARTISTS, artistFileStem, scaleCounts } from '../../../lib/data/synth/artists';
import { csvField } from '../../../lib/data/synth/csv';

describe('artists.csv rows', () => {
  it('quotes fields with commas, quotes or newlines as RFC 4180 says', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField(12), '12');
    assert.equal(csvField('Expressionism, Abstractionism'), '"Expressionism, Abstractionism"');
    assert.equal(csvField('known for "Black Square"'), '"known for ""Black Square"""');
    assert.equal(csvField('a\nb'), '"a\nb"');
  });

  it('keeps the rows the metadata study shows, in order', () => {
    assert.equal(ARTISTS.length, 50);
    assert.deepEqual(
      ARTISTS.slice(0, 11).map((a) => a.name),
      [
        'Amedeo Modigliani',
        'Vasily Kandinsky',
        'Diego Rivera',
        'Claude Monet',
        'Rene Magritte',
        'Salvador Dali',
        'Edouard Manet',
        'Andrei Rublev',
        'Vincent van Gogh',
        'Gustav Klimt',
        'Hieronymus Bosch',
      ],
    );
    assert.equal(ARTISTS[2]?.genre, 'Social Realism, Muralism');
    assert.equal(ARTISTS[8]?.fullCount, Math.max(...ARTISTS.map((a) => a.fullCount)));
    assert.equal(
      ARTISTS.reduce((s, a) => s + a.fullCount, 0),
      8355,
    );
  });

  it('makes file stems with underscores and NFC umlauts', () => {
    assert.equal(artistFileStem('Albrecht Du\u0308rer'), 'Albrecht_D\u00fcrer');
    assert.equal(artistFileStem('Vincent van Gogh'), 'Vincent_van_Gogh');
  });

  it('scales counts to an exact total without dropping below the minimum', () => {
    const c = scaleCounts([877, 24, 100], 100, 3);
    assert.equal(
      c.reduce((s, x) => s + x, 0),
      100,
    );
    assert.ok(c.every((x) => x >= 3));
    assert.ok((c[0] as number) > (c[2] as number));
  });
});
