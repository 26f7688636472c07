import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { main } from '../../lib/cli/main';
import { formatPredictions } from '../../lib/cli/predict';
import {
  decodeForModel,
  loadStudyModel,
  predictImages,
  type PredictionSet,
  type StudyModel,
} from '../../lib/pipeline/predict';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir } from '../tmp';
import { smokeRun, type SmokeRun } from './use-model.fixture';

/** Runs the CLI with stdout captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function code(e: unknown): string {
  return e instanceof ArtstyleError ? e.code : `not an ArtstyleError: ${String(e)}`;
}

describe('artstyle predict on a trained smoke run', { timeout: 10 * 60_000 }, () => {
  let run: SmokeRun;
  let sm: StudyModel;
  const tmp = tempDir('artstyle-predict-');
  before(async () => {
    run = await smokeRun();
    sm = loadStudyModel(run.params);
  });
  after(() => sm?.model.dispose());

  it('loads the sweep’s chosen model by default, with its class list and profile', () => {
    assert.equal(sm.modelDir, run.modelDir);
    assert.equal(sm.profile, 'smoke');
    assert.equal(sm.classNames.length, 12);
    assert.match(sm.source, /block sweep's choice/);
  });

  it('on a folder of the test images, reproduces the test report’s accuracy and confusion matrix', async () => {
    const set = await predictImages(sm, run.testImages, { topK: 3 });
    assert.equal(set.skipped.length, 0);
    assert.equal(set.images.length, run.testReport.ids.length);
    assert.ok(set.accuracy);
    assert.equal(set.accuracy.n, run.testReport.ids.length);
    assert.equal(set.accuracy.correct / set.accuracy.n, run.testReport.report.accuracy);
    const k = sm.classNames.length;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (const im of set.images)
      confusion[sm.classNames.indexOf(im.label!)]![sm.classNames.indexOf(im.top[0]!.className)]!++;
    assert.deepEqual(confusion, run.testReport.report.confusion);
    for (const im of set.images) {
      assert.equal(im.top.length, 3);
      assert.ok(Math.abs(im.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
      assert.ok(im.top[0]!.probability >= im.top[1]!.probability);
    }
  });

  it('the CLI prints the same predictions as csv and json, and the accuracy in its table', async () => {
    const json = await cli([
      'predict',
      run.testImages,
      '--profile',
      'smoke',
      '--out',
      run.params.outDir,
      '--format',
      'json',
      '--top',
      '2',
    ]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as PredictionSet;
    const lib = await predictImages(sm, run.testImages, { topK: 2 });
    assert.deepEqual(
      parsed.images.map((i) => i.top.map((t) => t.className)),
      lib.images.map((i) => i.top.map((t) => t.className)),
    );
    for (let i = 0; i < lib.images.length; i++)
      for (let j = 0; j < 12; j++)
        assert.ok(
          Math.abs(parsed.images[i]!.probabilities[j]! - lib.images[i]!.probabilities[j]!) < 1e-6,
        );
    const csv = await cli([
      'predict',
      run.testImages,
      '--profile',
      'smoke',
      '--out',
      run.params.outDir,
      '--format',
      'csv',
      '--model',
      path.relative(process.cwd(), run.modelDir),
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.split('\n');
    assert.equal(lines[0], 'file,label,top1,p1,top2,p2,top3,p3,skipped,reason');
    assert.equal(lines.length, 1 + lib.images.length);
    const table = await cli([
      'predict',
      run.testImages,
      '--profile',
      'smoke',
      '--out',
      run.params.outDir,
    ]);
    assert.match(
      table.stdout,
      new RegExp(
        `accuracy over ${lib.images.length} images in style folders: ${(100 * run.testReport.report.accuracy).toFixed(1)}%`,
      ),
    );
  });

  it('lists unusable files of a folder with their reasons, and refuses them as single files by name', async () => {
    const dir = path.join(tmp, 'mixed');
    fs.mkdirSync(dir, { recursive: true });
    const good = path.join(dir, 'good.png');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#a08060' } })
      .png()
      .toFile(good);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a picture\n');
    fs.writeFileSync(path.join(dir, 'empty.jpg'), '');
    fs.writeFileSync(path.join(dir, 'cut.png'), fs.readFileSync(good).subarray(0, 60));
    fs.symlinkSync(path.join(dir, 'missing-target.jpg'), path.join(dir, 'dangling.jpg'));
    const set = await predictImages(sm, dir);
    assert.deepEqual(
      set.images.map((i) => i.file),
      ['good.png'],
    );
    assert.equal(set.accuracy, null, 'no style folders, no accuracy');
    assert.deepEqual(Object.fromEntries(set.skipped.map((s) => [s.file, s.reason])), {
      'cut.png': 'corrupt-or-truncated',
      'dangling.jpg': 'unreadable',
      'empty.jpg': 'empty-file',
      'notes.txt': 'not-an-image',
    });
    assert.match(formatPredictions(set, 'table'), /4 skipped files/);
    await assert.rejects(
      predictImages(sm, path.join(dir, 'notes.txt')),
      (e) => code(e) === 'image-not-an-image' && /notes\.txt/.test((e as Error).message),
    );
    await assert.rejects(
      decodeForModel(path.join(dir, 'dangling.jpg'), 72),
      (e) => code(e) === 'unreadable' && /dangling\.jpg/.test((e as Error).message),
    );
    const r = await cli([
      'predict',
      path.join(dir, 'notes.txt'),
      '--profile',
      'smoke',
      '--out',
      run.params.outDir,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /artstyle predict: .*notes\.txt: content is not a supported image format/,
    );
  });

  it('refuses a model folder without a finished checkpoint and a class list that does not match the weights', () => {
    const empty = path.join(tmp, 'run', 'sweep', 'block5');
    fs.mkdirSync(empty, { recursive: true });
    assert.throws(
      () => loadStudyModel(run.params, empty),
      (e) =>
        code(e) === 'missing-checkpoint' && /has no finished checkpoint/.test((e as Error).message),
    );
    assert.throws(
      () => loadStudyModel(run.params, path.join(tmp, 'nowhere')),
      (e) => code(e) === 'missing-model',
    );
    // The same weights in a run whose class list has one style fewer.
    const other = path.join(tmp, 'other');
    fs.mkdirSync(path.join(other, 'sweep', 'block0'), { recursive: true });
    fs.mkdirSync(path.join(other, 'prepare'), { recursive: true });
    fs.cpSync(
      path.join(run.modelDir, 'checkpoint'),
      path.join(other, 'sweep', 'block0', 'checkpoint'),
      { recursive: true },
    );
    const manifest = JSON.parse(
      fs.readFileSync(path.join(run.params.outDir, 'prepare', 'manifest.json'), 'utf8'),
    ) as { classNames: string[]; items: { class: string }[] };
    const dropped = manifest.classNames.pop()!;
    manifest.items = manifest.items.filter((i) => i.class !== dropped);
    fs.writeFileSync(path.join(other, 'prepare', 'manifest.json'), JSON.stringify(manifest));
    assert.throws(
      () => loadStudyModel(run.params, path.join(other, 'sweep', 'block0')),
      (e) =>
        code(e) === 'class-mismatch' &&
        /has 11 styles but the weights .* predict 12 classes/.test((e as Error).message),
    );
  });

  it('--explain writes one Grad-CAM overlay PNG per image', async () => {
    const dir = path.join(tmp, 'explain');
    const first = fs.readdirSync(run.testImages)[0]!;
    const set = await predictImages(sm, path.join(run.testImages, first), { explainDir: dir });
    assert.equal(set.images.length, fs.readdirSync(path.join(run.testImages, first)).length);
    for (const im of set.images) {
      assert.ok(im.explanation && fs.existsSync(im.explanation), `${im.explanation} written`);
      const meta = await sharp(im.explanation).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 288, 288]);
    }
  });
});
