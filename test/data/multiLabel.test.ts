import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MultiLabelBinarizer, multiLabelBinarize } from '../../lib/data/multiLabel';

describe('MultiLabelBinarizer (scikit-learn semantics)', () => {
  it('classes are the sorted unique labels; a 0/1 row per input', () => {
    // sklearn: MultiLabelBinarizer().fit_transform([['b','a'], ['c'], [], ['a','a']])
    // -> classes_ ['a','b','c'], [[1,1,0],[0,0,1],[0,0,0],[1,0,0]]
    const m = multiLabelBinarize([['b', 'a'], ['c'], [], ['a', 'a']]);
    assert.deepEqual(m.classes, ['a', 'b', 'c']);
    assert.equal(m.rows, 4);
    assert.deepEqual([...m.data], [1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(m.unknown, []);
  });

  it('sorts by code unit like Python (uppercase before lowercase)', () => {
    assert.deepEqual(multiLabelBinarize([['romanticism', 'Baroque', 'Rococo']]).classes, [
      'Baroque',
      'Rococo',
      'romanticism',
    ]);
  });

  it('with a fixed class list keeps its order and reports unknown labels', () => {
    const b = new MultiLabelBinarizer(['Rococo', 'Baroque']);
    const m = b.fit([['Baroque']]).transform([['Baroque', 'Vaporwave'], ['Rococo']]);
    assert.deepEqual(m.classes, ['Rococo', 'Baroque']);
    assert.deepEqual([...m.data], [0, 1, 1, 0]);
    assert.deepEqual(m.unknown, [{ row: 0, label: 'Vaporwave' }]);
    assert.deepEqual(b.inverseTransform(m), [['Baroque'], ['Rococo']]);
  });

  it('transform after fit ignores unseen labels; errors name the argument', () => {
    const b = new MultiLabelBinarizer().fit([['x', 'y']]);
    assert.deepEqual(b.transform([['z', 'y']]).unknown, [{ row: 0, label: 'z' }]);
    assert.throws(() => new MultiLabelBinarizer().transform([['a']]), /call fit/);
    assert.throws(() => multiLabelBinarize([['a'], 'b' as never]), /labelLists\[1\]/);
    assert.throws(() => new MultiLabelBinarizer(['a', 'a']), /classes/);
  });
});
