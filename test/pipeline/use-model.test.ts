import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { main } from '../../lib/cli/main';
import { formatPredictions } from '../../lib/cli/predict';
import { preprocessInput } from '../../lib/models';
import { exportStudyModel, type ExportResult, type ModelCard } from '../../lib/pipeline/export';
import { closeBrowser, offlinePage, withBrowser } from '../../lib/plots/browser';
import {
  decodeForModel,
  loadStudyModel,
  predictImages,
  type PredictionSet,
  type StudyModel,
} from '../../lib/pipeline/predict';
import { stableStringify } from '../../lib/train/checkpoint';
import { ArtstyleError } from '../../lib/util/errors';
import { sha256 } from '../../lib/util/fs';
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
    // Another model folder of the run, named relative to the run folder.
    const pre = loadStudyModel(run.params, 'pretrain');
    assert.equal(pre.modelDir, path.join(run.params.outDir, 'pretrain'));
    assert.equal(pre.runDir, run.params.outDir);
    assert.equal(pre.blocks, null);
    pre.model.dispose();
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
    // A run stopped before its last epoch (a valid checkpoint that asks for one epoch more).
    const unfinished = path.join(run.params.outDir, 'sweep', 'block99');
    fs.cpSync(run.modelDir, unfinished, { recursive: true });
    const ckFile = path.join(unfinished, 'checkpoint', 'checkpoint.json');
    const ck = JSON.parse(fs.readFileSync(ckFile, 'utf8')) as Record<string, unknown> & {
      epoch: number;
    };
    delete ck['checksum'];
    ck['targetEpochs'] = ck.epoch + 1;
    fs.writeFileSync(ckFile, JSON.stringify({ ...ck, checksum: sha256(stableStringify(ck)) }));
    try {
      assert.throws(
        () => loadStudyModel(run.params, unfinished),
        (e) =>
          code(e) === 'unfinished-model' &&
          /has no finished checkpoint: its training stopped after 1 of 2 epochs/.test(
            (e as Error).message,
          ),
      );
    } finally {
      fs.rmSync(unfinished, { recursive: true, force: true });
    }
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

/** A static file server over `dir` on a free port of 127.0.0.1 (what any static host does). */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.json': 'application/json',
    '.bin': 'application/octet-stream',
  };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Pixels of `file` as the model sees them, preprocessed, one batch. */
async function modelInput(files: string[], size: number): Promise<tf.Tensor4D> {
  const rgb = await Promise.all(files.map((f) => decodeForModel(f, size)));
  const x = new Float32Array(files.length * size * size * 3);
  rgb.forEach((r, i) => x.set(r, i * size * size * 3));
  return tf.tidy(() => preprocessInput('xception', tf.tensor4d(x, [files.length, size, size, 3])));
}

describe('artstyle export: TF.js model, model card, static page', { timeout: 10 * 60_000 }, () => {
  let run: SmokeRun;
  let sm: StudyModel;
  let exported: ExportResult;
  const dir = path.join(tempDir('artstyle-export-'), 'model');
  const testFiles: string[] = [];
  before(async () => {
    run = await smokeRun();
    sm = loadStudyModel(run.params);
    const r = await cli(['export', '--profile', 'smoke', '--run', run.params.outDir, '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    exported = await exportStudyModel(sm, dir);
    for (const cls of fs.readdirSync(run.testImages).sort())
      for (const f of fs.readdirSync(path.join(run.testImages, cls)).sort())
        testFiles.push(path.join(run.testImages, cls, f));
  });
  after(async () => {
    sm?.model.dispose();
    await closeBrowser();
  });

  it('writes the model, its shards, the card and the page with its own TF.js', () => {
    for (const f of exported.files) assert.ok(fs.existsSync(path.join(dir, f)), `${f} written`);
    assert.ok(exported.files.some((f) => /^group1-shard1of\d+\.bin$/.test(f)));
    assert.equal(
      fs.readFileSync(path.join(dir, 'tf.min.js'), 'utf8'),
      fs.readFileSync(require.resolve('@tensorflow/tfjs/dist/tf.min.js'), 'utf8'),
    );
    const json = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    assert.doesNotMatch(json, /KerasBatchNormalization|SeededDropout/, 'standard layers only');
    assert.ok(exported.maxDifference <= 1e-5);
    const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /https?:\/\//, 'the page names no network address');
  });

  it('tf.loadLayersModel over HTTP gives the trained model’s probabilities on the test images (1e-5)', async () => {
    const server = await serve(dir);
    try {
      const loaded = await tf.loadLayersModel(`${server.url}/model.json`);
      const x = await modelInput(testFiles, sm.imageSize);
      const a = sm.model.predict(x) as tf.Tensor;
      const b = loaded.predict(x) as tf.Tensor;
      const diff = (await a.sub(b).abs().max().data())[0]!;
      assert.ok(diff <= 1e-5, `max difference ${diff}`);
      assert.equal(b.shape[0], testFiles.length);
      tf.dispose([x, a, b]);
      loaded.dispose();
    } finally {
      await server.close();
    }
  });

  it('the model card names the classes, input, preprocessing, training and the test metrics with their interval', () => {
    const card = JSON.parse(
      fs.readFileSync(path.join(dir, 'model-card.json'), 'utf8'),
    ) as ModelCard;
    assert.deepEqual(card.classes, sm.classNames);
    assert.deepEqual([card.input.height, card.input.width], [72, 72]);
    assert.equal(card.training.profile, 'smoke');
    assert.equal(card.training.seed, 42);
    assert.equal(card.training.imagesPerSplit['test'], run.testReport.ids.length);
    assert.ok(card.test);
    assert.equal(card.test.accuracy.estimate, run.testReport.report.accuracy);
    assert.ok(
      card.test.accuracy.lower <= card.test.accuracy.estimate &&
        card.test.accuracy.estimate <= card.test.accuracy.upper,
    );
    assert.match(card.preprocessing.join(' '), /127\.5/);
    assert.equal(card.versions['@tensorflow/tfjs'], tf.version.tfjs);
    assert.match(
      fs.readFileSync(path.join(dir, 'model-card.md'), 'utf8'),
      /## Test metrics\n\nAccuracy \d+\.\d% \(95% CI/,
    );
  });

  it('the page classifies a picked image in Chromium from file:// with no network, as artstyle predict does (1e-4)', async (t) => {
    const size = sm.imageSize;
    // The model's input itself (the resized test image) as a PNG: the page's own resize is then the identity.
    const png = path.join(path.dirname(dir), 'input.png');
    const rgb = await decodeForModel(testFiles[0]!, size);
    await sharp(Buffer.from(rgb), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(png);
    const cliRun = await cli([
      'predict',
      png,
      '--profile',
      'smoke',
      '--out',
      run.params.outDir,
      '--format',
      'json',
    ]);
    assert.equal(cliRun.code, 0, cliRun.stderr);
    const want = (JSON.parse(cliRun.stdout) as PredictionSet).images[0]!;
    const original = (await predictImages(sm, testFiles[0]!)).images[0]!;
    await withBrowser(async (browser) => {
      const page = await offlinePage(browser);
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        await page.goto(pathToFileURL(path.join(dir, 'index.html')).href);
        await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
        const shown = async (file: string): Promise<{ top1: string; probs: number[] }> => {
          await page.setInputFiles('#file', file);
          await page.waitForFunction(
            (name) =>
              document.getElementById('status')?.dataset['state'] === 'done' &&
              document.getElementById('status')?.textContent?.startsWith(name),
            path.basename(file),
            { timeout: 180_000 },
          );
          const top1 = (await page.getAttribute('#result', 'data-top1')) ?? '';
          const probs = JSON.parse(
            (await page.getAttribute('#result', 'data-probabilities')) ?? '[]',
          ) as number[];
          return { top1, probs };
        };
        const got = await shown(png);
        assert.equal(got.top1, want.top[0]!.className);
        assert.equal(got.probs.length, 12);
        const diff = Math.max(...got.probs.map((p, i) => Math.abs(p - want.probabilities[i]!)));
        assert.ok(diff <= 1e-4, `page vs predict: max difference ${diff}`);
        assert.equal(await page.locator('#result .row').count(), 3, 'top-3 bars');
        // The original file: the browser resizes it with its own filter, not Lanczos-3 (see the README).
        const fromOriginal = await shown(testFiles[0]!);
        const drift = Math.max(
          ...fromOriginal.probs.map((p, i) => Math.abs(p - original.probabilities[i]!)),
        );
        t.diagnostic(
          `original ${path.basename(testFiles[0]!)}: page top-1 ${fromOriginal.top1}, predict top-1 ${original.top[0]!.className}, max |dp| ${drift.toExponential(2)} (browser resize vs Lanczos-3)`,
        );
        assert.deepEqual(errors, []);
        assert.deepEqual(
          requests.filter(
            (u) => !u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('blob:'),
          ),
          [],
          'no network requests',
        );
      } finally {
        await page.close();
      }
    });
  });

  it('the same page works from a static web server', async () => {
    const server = await serve(dir);
    try {
      await withBrowser(async (browser) => {
        const page = await browser.newPage();
        await page.route(
          (url) =>
            url.origin !== server.url && url.protocol !== 'data:' && url.protocol !== 'blob:',
          (route) => route.abort('internetdisconnected'),
        );
        try {
          await page.goto(`${server.url}/index.html`);
          await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
        } finally {
          await page.close();
        }
      });
    } finally {
      await server.close();
    }
  });
});
