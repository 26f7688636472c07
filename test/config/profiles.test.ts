import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profiles, resolveConfig, validateConfig } from '../../lib/config';
import { ArtstyleError } from '../../lib/util/errors';

const fails = (fn: () => unknown, key: string, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ArtstyleError, String(e));
    assert.equal(e.code, 'invalid-config');
    assert.equal(e.subject, key);
    assert.match(e.message, pattern);
    return true;
  });

test('every profile is valid and the full one carries the seed settings', () => {
  for (const name of ['full', 'teaching', 'smoke'])
    assert.deepEqual(resolveConfig(name), profiles[name as 'full']);
  const f = profiles.full;
  assert.equal(f.imageSize, 299);
  assert.equal(f.model.widthMultiplier, 1);
  assert.deepEqual(f.split, { train: 0.6, val: 0.2, test: 0.2 });
  assert.deepEqual(f.pretrain, {
    epochs: 25,
    batchSize: 16,
    optimizer: { kind: 'rmsprop', lr: 0.001, momentum: 0 },
  });
  assert.deepEqual(f.finetune, {
    epochs: 50,
    batchSize: 16,
    optimizer: { kind: 'sgd', lr: 0.0001, momentum: 0.9 },
  });
  assert.deepEqual(f.sweep.blocks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.equal(f.model.l2, 0.0075);
  assert.equal(f.model.dropout, 0.5);
  assert.ok(profiles.teaching.imageSize < f.imageSize && profiles.smoke.pretrain.epochs <= 2);
});

test('overrides merge deeply, replace lists and are validated', () => {
  const c = resolveConfig('teaching', { pretrain: { epochs: 2 }, sweep: { blocks: [1, 5] } });
  assert.equal(c.pretrain.epochs, 2);
  assert.equal(c.pretrain.batchSize, profiles.teaching.pretrain.batchSize);
  assert.deepEqual(c.sweep.blocks, [1, 5]);
  assert.equal(profiles.teaching.pretrain.epochs !== 2, true, 'the profile itself is untouched');
  fails(() => resolveConfig('huge'), 'profile', /choose one of smoke, teaching, full/);
});

test('unknown keys are named with the closest known key', () => {
  fails(
    () => resolveConfig('smoke', { pretrain: { batchsize: 8 } }),
    'pretrain.batchsize',
    /did you mean pretrain\.batchSize\?.*allowed: epochs, batchSize, optimizer/,
  );
  fails(() => resolveConfig('smoke', { imagesize: 80 }), 'imagesize', /did you mean imageSize\?/);
  fails(() => resolveConfig('smoke', { zzzqqq: 1 }), 'zzzqqq', /unknown key \(allowed: imageSize/);
});

test('wrong types and impossible values name the key and the allowed values', () => {
  fails(
    () => resolveConfig('smoke', { split: { train: 0.7 } }),
    'split',
    /sum to 1, got 0.7 \+ 0.2 \+ 0.2 = 1.1/,
  );
  fails(
    () => resolveConfig('smoke', { finetune: { batchSize: 0 } }),
    'finetune.batchSize',
    /expected an integer >= 1, got 0/,
  );
  fails(
    () => resolveConfig('smoke', { pretrain: { optimizer: { lr: -0.1 } } }),
    'pretrain.optimizer.lr',
    /expected a number > 0/,
  );
  fails(
    () => resolveConfig('smoke', { pretrain: { epochs: 0 } }),
    'pretrain.epochs',
    /integer >= 1, got 0/,
  );
  fails(
    () => resolveConfig('smoke', { sweep: { blocks: [3, 15] } }),
    'sweep.blocks[1]',
    /integer >= 0 <= 14, got 15/,
  );
  fails(() => resolveConfig('smoke', { sweep: { blocks: [3, 3] } }), 'sweep.blocks[1]', /repeated/);
  fails(() => resolveConfig('smoke', { chosenBlocks: -1 }), 'chosenBlocks', /0 <= 14/);
  fails(
    () => resolveConfig('smoke', { pretrain: { optimizer: { kind: 'adam' } } }),
    'pretrain.optimizer.kind',
    /one of "rmsprop", "sgd", got "adam"/,
  );
  fails(
    () => resolveConfig('smoke', { augment: { horizontalFlip: 'yes' } }),
    'augment.horizontalFlip',
    /true or false/,
  );
  fails(
    () => resolveConfig('smoke', { imageSize: '72' }),
    'imageSize',
    /expected an integer >= 71 <= 1024, got "72"/,
  );
  fails(() => validateConfig(null), 'configuration', /configuration: expected an object/);
  // Several problems at once are all listed.
  assert.throws(
    () => resolveConfig('smoke', { imageSize: 10, pretrain: { batchSize: 0 } }),
    (e: unknown) =>
      /imageSize/.test((e as Error).message) && /pretrain\.batchSize/.test((e as Error).message),
  );
});

test('microBatch: automatic (null) except teaching (8: two per batch of 16), an integer >= 1 when set', () => {
  for (const name of ['full', 'smoke']) assert.equal(resolveConfig(name).microBatch, null);
  assert.equal(resolveConfig('teaching').microBatch, 8);
  assert.equal(resolveConfig('full', { microBatch: 4 }).microBatch, 4);
  fails(
    () => resolveConfig('full', { microBatch: 0 }),
    'microBatch',
    /microBatch: expected an integer >= 1/,
  );
  fails(() => resolveConfig('full', { microBatch: 'four' }), 'microBatch', /got "four"/);
});
