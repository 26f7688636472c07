import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OBJECT_ATTRIBUTE_NAMES, OBJECT_CLASSES } from '../../lib/data/synth/object-task';
import { SOURCE_CLASSES } from '../../lib/data/synth/source-task';
import { bundledBaseDir, BundledBaseInfo, loadBase } from '../../lib/pipeline/bases';

const info = (kind: 'xception' | 'resnet50'): BundledBaseInfo =>
  JSON.parse(fs.readFileSync(path.join(bundledBaseDir(kind, 0.25), 'info.json'), 'utf8'));

describe('bundled bases', () => {
  it('record the source task each was pretrained on, with its heads and accuracy', () => {
    const x = info('xception');
    assert.equal(x.sourceTask.name, 'objects');
    assert.deepEqual(x.sourceTask.heads, {
      material: [...OBJECT_CLASSES.material],
      backdrop: [...OBJECT_CLASSES.backdrop],
      subject: [...OBJECT_CLASSES.subject],
    });
    assert.deepEqual(x.sourceTask.attributes, OBJECT_ATTRIBUTE_NAMES);
    // The mean held-out accuracy is the mean of the heads' (what the loader's message quotes).
    const heads = ['material', 'backdrop', 'subject'].map((h) => x.sourceValDetail[h] as number);
    assert.ok(Math.abs(x.sourceValAccuracy - heads.reduce((a, b) => a + b) / 3) < 1e-12);
    // Every head well above chance: the base learnt its task.
    assert.ok(
      heads.every((a, i) => a > 2 / [12, 6, 6][i]!),
      heads.join(' '),
    );
    const r = info('resnet50');
    assert.equal(r.sourceTask.name, 'textures');
    assert.deepEqual(r.sourceTask.heads, { texture: [...SOURCE_CLASSES] });
    assert.ok(r.sourceValAccuracy > 2 / SOURCE_CLASSES.length);
  });

  it('load at another input size, and say where the weights came from', async () => {
    await tf.setBackend('cpu');
    const lines: string[] = [];
    const base = await loadBase(
      { kind: 'xception', inputSize: 71, widthMultiplier: 0.25 },
      { weightsDir: '/nonexistent', log: (l) => lines.push(l) },
    );
    try {
      assert.equal(base.source, 'bundled');
      assert.match(
        base.detail,
        /synthetic objects source task \(12 material classes, 6 backdrop classes, 6 subject classes, 12 regressed attributes, 5 epochs/,
      );
      assert.deepEqual(base.model.inputs[0]?.shape, [null, 71, 71, 3]);
    } finally {
      base.model.dispose();
    }
  });
});
