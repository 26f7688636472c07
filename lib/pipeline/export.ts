import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadManifest } from '../data/manifest';
import { SPLIT_NAMES } from '../data/split';
import type { ClassificationReport } from '../eval/classification';
import { wilsonInterval, type Interval } from '../eval/stats';
import { ArtstyleError } from '../util/errors';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { escapeHtml } from '../util/html';
import { projectRoot } from './params';
import type { StudyModel } from './predict';
import { limitPerClass } from './study1';

/**
 * `artstyle export`: a trained model of the first study as a folder that runs elsewhere:
 *
 *   model.json + group1-shard*.bin   a TF.js layers model (`tf.loadLayersModel(url)`)
 *   model-card.json, model-card.md   what it is, how it was trained and how well it did on test
 *   index.html + model-data.js + tf.min.js
 *                                    a page that classifies a picked or dropped image entirely in
 *                                    the browser, from the folder itself (file://) or any static host
 *
 * The study's two custom layers are exported as their standard equivalents, which compute the same
 * function at inference: KerasBatchNormalization differs from BatchNormalization only in training
 * (a frozen layer keeps its statistics), and SeededDropout, like Dropout, is the identity outside
 * training. So the exported model loads in any TF.js without this library.
 *
 * A page opened from file:// may not fetch model.json (browsers refuse file:// requests), so the
 * page reads the same topology and weights from model-data.js, a script (base64 weights), which
 * loads from a folder and from a server alike.
 */

export const EXPORT_FILES = {
  modelJson: 'model.json',
  cardJson: 'model-card.json',
  cardMd: 'model-card.md',
  page: 'index.html',
  pageData: 'model-data.js',
  tfjs: 'tf.min.js',
} as const;

const SHARD_BYTES = 4 * 1024 * 1024;

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/** The model's topology with the project's custom layers replaced by standard ones. */
export function standardTopology(topology: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(topology)) as {
    config?: { layers?: LayerJson[] };
    model_config?: { config?: { layers?: LayerJson[] } };
  };
  const layers = copy.model_config?.config?.layers ?? copy.config?.layers;
  if (!layers)
    throw new ArtstyleError('export-failed', 'the model topology has no layer list', 'model');
  for (const layer of layers) {
    if (layer.class_name === 'KerasBatchNormalization') layer.class_name = 'BatchNormalization';
    else if (layer.class_name === 'SeededDropout') {
      const { name, trainable, rate, dtype } = layer.config;
      layer.class_name = 'Dropout';
      layer.config = { name, trainable, rate, ...(dtype === undefined ? {} : { dtype }) };
    }
  }
  const names = layers.map((l) => l.class_name);
  const custom = names.filter((n) => n.startsWith('Keras') || n.startsWith('Seeded'));
  if (custom.length)
    throw new ArtstyleError(
      'export-failed',
      `the model has layers without a standard TF.js equivalent: ${[...new Set(custom)].join(', ')}`,
      'model',
    );
  return copy as Record<string, unknown>;
}

export interface ExportedArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

/** The model's standard-layer topology and its weights, as tfjs saves them. */
export async function exportArtifacts(model: tf.LayersModel): Promise<ExportedArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved?.modelTopology || !saved.weightSpecs || !saved.weightData)
    throw new ArtstyleError('export-failed', 'the model saved no topology or weights', 'model');
  const data = saved.weightData;
  const weightData = Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
  return {
    modelTopology: standardTopology(saved.modelTopology),
    weightSpecs: saved.weightSpecs,
    weightData,
  };
}

/** Loads artifacts back into a model (standard layers only), e.g. to check an export. */
export function loadArtifacts(a: ExportedArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: a.modelTopology,
      weightSpecs: a.weightSpecs,
      weightData: a.weightData,
    }),
  );
}

function packageVersion(file: string): string {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export interface TestMetrics {
  images: number;
  accuracy: Interval;
  balancedAccuracy: number;
  macroF1: number;
  perClass: { className: string; accuracy: number; support: number }[];
}

export interface ModelCard {
  name: string;
  task: string;
  classes: string[];
  input: { height: number; width: number; channels: 3; pixelRange: string };
  preprocessing: string[];
  architecture: string;
  training: {
    profile: string;
    seed: number;
    dataRoot: string;
    imagesPerSplit: Record<string, number>;
    frozenBlocks: number | null;
    epochs: number;
    optimizer: unknown;
    batchSize: unknown;
    finalEpoch: Record<string, number> | null;
    modelFolder: string;
  };
  test: TestMetrics | null;
  testNote: string;
  limitations: string[];
  exportedAt: string;
  versions: Record<string, string>;
}

function testMetrics(modelDir: string): { metrics: TestMetrics | null; note: string } {
  const file = path.join(modelDir, 'test-report.json');
  if (!fs.existsSync(file))
    return {
      metrics: null,
      note: `not evaluated on the test split (no ${file}; \`artstyle sweep\` evaluates the chosen model)`,
    };
  const report = readJson<{ report: ClassificationReport }>(file).report;
  const n = report.confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const correct = report.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  return {
    metrics: {
      images: n,
      accuracy: wilsonInterval(correct, n),
      balancedAccuracy: report.balancedAccuracy,
      macroF1: report.macroF1,
      perClass: report.perClass.map((c) => ({
        className: c.className,
        accuracy: c.accuracy,
        support: c.support,
      })),
    },
    note: `from ${file}; the interval is the 95% Wilson interval of the accuracy`,
  };
}

/** The model card of a loaded study model. */
export function modelCard(sm: StudyModel): ModelCard {
  // The images the model was trained and tested on: the run's manifest under the profile's limit.
  const manifest = limitPerClass(
    loadManifest(path.join(sm.runDir, 'prepare', 'manifest.json')),
    sm.config.maxImagesPerClass,
    sm.seed,
  );
  const imagesPerSplit = Object.fromEntries(
    SPLIT_NAMES.map((s) => [s, manifest.items.filter((it) => it.split === s).length]),
  );
  const cfg = sm.checkpoint.config;
  const last = sm.checkpoint.history.at(-1) as Record<string, number> | undefined;
  const { metrics, note } = testMetrics(sm.modelDir);
  const root = projectRoot();
  return {
    name: `artstyle-lab sculpture style classifier (${path.basename(sm.modelDir)}, profile ${sm.profile})`,
    task: `single-label classification of a sculpture photograph into ${sm.classNames.length} styles`,
    classes: sm.classNames,
    input: { height: sm.imageSize, width: sm.imageSize, channels: 3, pixelRange: '0..255 RGB' },
    preprocessing: [
      'decode by content, apply the EXIF orientation, flatten transparency onto white, convert to sRGB RGB',
      `resize the whole image to ${sm.imageSize}x${sm.imageSize} ignoring the aspect ratio (Lanczos-3 in training and in \`artstyle predict\`; the browser's high-quality canvas resize in index.html)`,
      "scale as Keras's Xception preprocess_input: x / 127.5 - 1 (values in [-1, 1])",
    ],
    architecture: `Xception (width ${sm.config.model.widthMultiplier}) without top -> global average pooling -> Dense(${sm.config.model.denseUnits}, relu, L2 ${sm.config.model.l2}) -> Dropout(${sm.config.model.dropout}) -> Dense(${sm.classNames.length}, softmax)`,
    training: {
      profile: sm.profile,
      seed: sm.seed,
      dataRoot: manifest.root,
      imagesPerSplit,
      frozenBlocks: sm.blocks,
      epochs: sm.checkpoint.epoch,
      optimizer: cfg['optimizer'],
      batchSize: cfg['batchSize'],
      finalEpoch: last ?? null,
      modelFolder: sm.modelDir,
    },
    test: metrics,
    testNote: note,
    limitations: [
      'trained on the data set named above; on the bundled synthetic data its numbers are not comparable to the published study',
      'a photograph far from the training images (another subject, a painting, a crop) still gets one of the styles; the probabilities are not calibrated',
    ],
    exportedAt: new Date().toISOString(),
    versions: {
      'artstyle-lab': packageVersion(path.join(root, 'package.json')),
      '@tensorflow/tfjs': tf.version.tfjs,
      node: process.versions.node,
    },
  };
}

const pctText = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function modelCardMarkdown(card: ModelCard): string {
  const t = card.training;
  const lines = [
    `# ${card.name}`,
    '',
    `Task: ${card.task}.`,
    '',
    `## Classes (${card.classes.length}, in output order)`,
    '',
    card.classes.map((c, i) => `${i}. ${c}`).join('\n'),
    '',
    '## Input and preprocessing',
    '',
    `${card.input.height}x${card.input.width} RGB, ${card.input.pixelRange}.`,
    '',
    ...card.preprocessing.map((p) => `- ${p}`),
    '',
    '## Model and training',
    '',
    `- ${card.architecture}`,
    `- profile ${t.profile}, seed ${t.seed}, first ${t.frozenBlocks ?? '?'} blocks frozen in fine-tuning, ${t.epochs} epochs, batch ${String(t.batchSize)}, optimizer ${JSON.stringify(t.optimizer)}`,
    `- data: ${t.dataRoot} (${Object.entries(t.imagesPerSplit)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')} images)`,
    `- trained model folder: ${t.modelFolder}`,
    '',
    '## Test metrics',
    '',
  ];
  if (card.test) {
    const a = card.test.accuracy;
    lines.push(
      `Accuracy ${pctText(a.estimate)} (95% CI ${pctText(a.lower)}-${pctText(a.upper)}) on ${card.test.images} test images; balanced accuracy ${pctText(card.test.balancedAccuracy)}; macro-F1 ${card.test.macroF1.toFixed(3)}.`,
      '',
      '| style | accuracy | test images |',
      '| --- | --- | --- |',
      ...card.test.perClass.map(
        (c) => `| ${c.className} | ${pctText(c.accuracy)} | ${c.support} |`,
      ),
      '',
    );
  }
  lines.push(
    `(${card.testNote})`,
    '',
    '## Limitations',
    '',
    ...card.limitations.map((l) => `- ${l}`),
    '',
    `Exported ${card.exportedAt} with ${Object.entries(card.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
  );
  return lines.join('\n');
}

/** The static page: pick or drop an image, top-3 styles with bars, all in the browser. */
export function pageHtml(card: ModelCard): string {
  const title = escapeHtml(card.name);
  const acc = card.test
    ? `test accuracy ${pctText(card.test.accuracy.estimate)} (95% CI ${pctText(card.test.accuracy.lower)}-${pctText(card.test.accuracy.upper)}, ${card.test.images} images)`
    : 'not evaluated on test';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 1.5rem; text-align: center; }
  #drop.over { background: #eef5ff; border-color: #0072b2; }
  #preview { display: block; margin: 1rem auto; width: 224px; height: 224px; image-rendering: auto; border: 1px solid #ccc; }
  .row { display: flex; align-items: center; gap: .5rem; margin: .3rem 0; }
  .name { width: 10rem; text-align: right; }
  .bar { height: 1.1rem; background: #0072b2; border-radius: 3px; }
  .bar-box { flex: 1; background: #eee; border-radius: 3px; }
  .p { width: 4rem; font-variant-numeric: tabular-nums; }
  small { color: #555; }
</style>
</head>
<body>
<h1>Which sculpture style?</h1>
<p><small>${title}: ${card.classes.length} styles, ${card.input.height}x${card.input.width} input, ${escapeHtml(acc)}. Everything runs in this page; no image leaves your computer. See model-card.md.</small></p>
<div id="drop">
  <p>Drop an image here, or <label>pick one: <input id="file" type="file" accept="image/*"></label></p>
</div>
<canvas id="preview" width="${card.input.width}" height="${card.input.height}"></canvas>
<div id="result" aria-live="polite"></div>
<p id="status"><small>loading the model…</small></p>
<script src="tf.min.js"></script>
<script src="model-data.js"></script>
<script>
(function () {
  var data = window.ARTSTYLE_MODEL;
  var size = data.card.input.height;
  var classes = data.card.classes;
  var status = document.getElementById('status');
  var result = document.getElementById('result');
  var canvas = document.getElementById('preview');
  var model = null;
  function setStatus(text, state) { status.innerHTML = '<small></small>'; status.firstChild.textContent = text; status.dataset.state = state; }
  function base64Bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  async function load() {
    try {
      await tf.ready();
      model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: data.modelTopology, weightSpecs: data.weightSpecs, weightData: base64Bytes(data.weightsBase64) }));
      setStatus('model ready (TF.js ' + tf.version.tfjs + ', backend ' + tf.getBackend() + ')', 'ready');
    } catch (e) { setStatus('the model did not load: ' + e, 'error'); }
  }
  function show(probs) {
    var order = classes.map(function (c, i) { return i; }).sort(function (a, b) { return probs[b] - probs[a] || a - b; }).slice(0, 3);
    result.innerHTML = '';
    order.forEach(function (i) {
      var row = document.createElement('div'); row.className = 'row';
      var name = document.createElement('span'); name.className = 'name'; name.textContent = classes[i];
      var box = document.createElement('span'); box.className = 'bar-box';
      var bar = document.createElement('span'); bar.className = 'bar'; bar.style.display = 'block'; bar.style.width = (100 * probs[i]).toFixed(1) + '%';
      box.appendChild(bar);
      var p = document.createElement('span'); p.className = 'p'; p.textContent = (100 * probs[i]).toFixed(1) + '%';
      row.appendChild(name); row.appendChild(box); row.appendChild(p); result.appendChild(row);
    });
    result.dataset.top1 = classes[order[0]];
    result.dataset.probabilities = JSON.stringify(Array.from(probs));
  }
  async function classify(file) {
    if (!model) { setStatus('the model is not loaded yet', 'error'); return; }
    setStatus('classifying ' + file.name + '…', 'busy');
    try {
      var bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      var ctx = canvas.getContext('2d', { willReadFrequently: true });
      ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, size, size);
      ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bitmap, 0, 0, size, size);
      var pixels = ctx.getImageData(0, 0, size, size);
      var probs = tf.tidy(function () {
        var x = tf.browser.fromPixels(pixels).toFloat().div(127.5).sub(1).expandDims(0);
        return model.predict(x).dataSync();
      });
      show(probs);
      setStatus(file.name + ': ' + result.dataset.top1, 'done');
    } catch (e) { setStatus(file.name + ' is not an image this browser can read (' + e + ')', 'error'); }
  }
  document.getElementById('file').addEventListener('change', function (e) { if (e.target.files[0]) classify(e.target.files[0]); });
  var drop = document.getElementById('drop');
  drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]); });
  load();
})();
</script>
</body>
</html>
`;
}

export interface ExportResult {
  dir: string;
  files: string[];
  card: ModelCard;
  /** Largest difference between the exported and the trained model's probabilities on a check batch. */
  maxDifference: number;
}

/** Checks the export against the trained model on a seeded batch of random images in [-1, 1]. */
async function exportDifference(sm: StudyModel, artifacts: ExportedArtifacts): Promise<number> {
  const exported = await loadArtifacts(artifacts);
  try {
    const x = tf.randomUniform([2, sm.imageSize, sm.imageSize, 3], -1, 1, 'float32', 7);
    const a = sm.model.predict(x) as tf.Tensor;
    const b = exported.predict(x) as tf.Tensor;
    const d = (await a.sub(b).abs().max().data())[0]!;
    tf.dispose([x, a, b]);
    return d;
  } finally {
    exported.dispose();
  }
}

/** Writes the export folder (see the top of this file). Files are written atomically. */
export async function exportStudyModel(sm: StudyModel, dir: string): Promise<ExportResult> {
  const artifacts = await exportArtifacts(sm.model);
  const maxDifference = await exportDifference(sm, artifacts);
  if (!(maxDifference <= 1e-5))
    throw new ArtstyleError(
      'export-failed',
      `the exported model differs from the trained one by ${maxDifference} (more than 1e-5) on a check batch`,
      sm.modelDir,
    );
  fs.mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(artifacts.weightData);
  const shards = Math.max(1, Math.ceil(bytes.length / SHARD_BYTES));
  const paths: string[] = [];
  for (let i = 0; i < shards; i++) {
    const name = `group1-shard${i + 1}of${shards}.bin`;
    writeFileAtomic(
      path.join(dir, name),
      bytes.subarray(i * SHARD_BYTES, Math.min(bytes.length, (i + 1) * SHARD_BYTES)),
    );
    paths.push(name);
  }
  const card = modelCard(sm);
  writeJsonAtomic(path.join(dir, EXPORT_FILES.modelJson), {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: `artstyle-lab ${card.versions['artstyle-lab']}`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths, weights: artifacts.weightSpecs }],
  });
  writeJsonAtomic(path.join(dir, EXPORT_FILES.cardJson), card);
  writeFileAtomic(path.join(dir, EXPORT_FILES.cardMd), modelCardMarkdown(card));
  const pageData = {
    card,
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs,
    weightsBase64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  };
  writeFileAtomic(
    path.join(dir, EXPORT_FILES.pageData),
    `// The model of index.html (topology, weights as base64, model card): a script, so that the page also works from file://.\nwindow.ARTSTYLE_MODEL = ${JSON.stringify(pageData)};\n`,
  );
  fs.copyFileSync(
    require.resolve('@tensorflow/tfjs/dist/tf.min.js'),
    path.join(dir, `.${EXPORT_FILES.tfjs}.tmp`),
  );
  fs.renameSync(path.join(dir, `.${EXPORT_FILES.tfjs}.tmp`), path.join(dir, EXPORT_FILES.tfjs));
  writeFileAtomic(path.join(dir, EXPORT_FILES.page), pageHtml(card));
  return {
    dir,
    files: [
      EXPORT_FILES.modelJson,
      ...paths,
      EXPORT_FILES.cardJson,
      EXPORT_FILES.cardMd,
      EXPORT_FILES.page,
      EXPORT_FILES.pageData,
      EXPORT_FILES.tfjs,
    ],
    card,
    maxDifference,
  };
}
