import type { StudyConfig } from '../config/profiles';
import { augmentPreview } from '../data/augment';
import { countsTable } from '../data/countsTable';
import { cacheFile, readCachedImage } from '../data/imageCache';
import type { Manifest } from '../data/manifest';
import { policyTag } from '../data/resizePolicy';
import { rgbToPng, type RgbImage } from '../data/rgbImage';
import { sampleGrid } from '../data/sampleGrid';
import type { ClassComparisonRow, ClassificationReport } from '../eval/classification';
import {
  augmentationGridFigure,
  classCountsFigure,
  confusionMatrixFigure,
  imageGridFigure,
  perClassComparisonFigure,
  sideBySideConfusionFigure,
  type Figure,
} from '../plots';
import type { EpochRecord } from '../train/history';
import { sweepOverlayFigure } from '../plots';
import type { SweepSelection } from '../train/sweep';
import type { TestEvaluation, WeightedComparison } from './study1';
import { pct, type TableView } from './notebook';

/**
 * The first study's figures and tables from its plain results: what notebooks 01-04 show and what
 * the CLI exports. No computation happens here beyond arranging results for a reader.
 */

/** Images per style and split (the seed's table) as grouped bars. */
export function countsFigure(manifest: Manifest): Figure {
  const rows = countsTable(manifest).rows.filter((r) => r.class !== 'Total');
  return classCountsFigure(
    rows.flatMap((r) =>
      (['train', 'val', 'test'] as const).map((split) => ({
        className: r.class,
        split,
        count: r[split],
      })),
    ),
    { title: 'Images per style and split', classNames: manifest.classNames },
  );
}

/** A few resized training images of every style. */
export async function samplesFigure(
  manifest: Manifest,
  cacheDir: string,
  config: StudyConfig,
  seed: number,
  perClass = 4,
): Promise<Figure> {
  const rows = await sampleGrid(manifest, cacheDir, perClass, seed, {
    imageSize: config.imageSize,
  });
  const cells = rows.flatMap((row) =>
    row.samples.map((s, i) => ({ png: s.png, label: i === 0 ? row.class : '', sublabel: s.split })),
  );
  return imageGridFigure(cells, {
    columns: perClass,
    title: 'Sample images per style',
    cellSize: 110,
  });
}

/** A cached (resized) image as a plain RGB image. */
async function cachedRgb(cacheDir: string, hash: string, imageSize: number): Promise<RgbImage> {
  const img = await readCachedImage(
    cacheFile(cacheDir, hash, imageSize, policyTag({ size: imageSize })),
    imageSize,
  );
  return { height: img.size, width: img.size, data: img.data };
}

async function cachedPng(
  manifest: Manifest,
  cacheDir: string,
  imageSize: number,
  relPath: string,
): Promise<Uint8Array> {
  const item = manifest.items.find((it) => it.path === relPath);
  if (!item) throw new Error(`no manifest item ${relPath}`);
  return rgbToPng(await cachedRgb(cacheDir, item.hash, imageSize));
}

/** One training image and `k` augmented versions of it, as the training batches draw them. */
export async function augmentationFigure(
  manifest: Manifest,
  cacheDir: string,
  config: StudyConfig,
  seed: number,
  k = 7,
): Promise<Figure> {
  const first = manifest.items.find((it) => it.split === 'train');
  if (!first) throw new Error('the manifest has no training image');
  const img = await cachedRgb(cacheDir, first.hash, config.imageSize);
  const views = augmentPreview(img, k, config.augment, seed);
  const pngs = await Promise.all(views.map((v) => rgbToPng(v.image)));
  return augmentationGridFigure(await rgbToPng(img), pngs, {
    title: `Augmentation: shear ${config.augment.shearRange}, zoom ${config.augment.zoomRange}, flip ${config.augment.horizontalFlip}`,
    label: first.class,
    columns: 4,
    cellSize: 120,
  });
}

/** Training and validation curves of a run, named by what it is. */
export { trainingCurvesFigure } from '../plots';

/** The sweep's validation accuracy (or loss) per epoch, one line per number of frozen blocks. */
export function sweepFigure(
  runs: { label: string; history: EpochRecord[] }[],
  metric: 'val_accuracy' | 'val_loss',
): Figure {
  const what = metric === 'val_accuracy' ? 'accuracy' : 'loss';
  return sweepOverlayFigure(runs, metric, {
    title: `Validation ${what} per epoch, by number of frozen blocks`,
  });
}

/** The normalized confusion matrix of a test evaluation. */
export function testConfusionFigure(e: TestEvaluation, title: string): Figure {
  return confusionMatrixFigure(e.report.confusion, e.classNames, { normalized: true, title });
}

/** The images the model got most wrong (most confident wrong answers), with both labels. */
export async function mostWrongFigure(
  e: TestEvaluation,
  manifest: Manifest,
  cacheDir: string,
  config: StudyConfig,
  top = 12,
): Promise<Figure> {
  const wrong = e.report.mostWrong.slice(0, top);
  const cells = await Promise.all(
    wrong.map(async (w) => ({
      png: await cachedPng(manifest, cacheDir, config.imageSize, w.id),
      label: `${w.trueClass} → ${w.predictedClass}`,
      sublabel: `p=${w.confidence.toFixed(2)}, true ${w.trueProbability.toFixed(2)}`,
    })),
  );
  return imageGridFigure(cells, {
    columns: 4,
    title: 'Test images the model got most wrong (true → predicted)',
    cellSize: 130,
  });
}

/** The seed's comparison table: style, non-weighted accuracy %, weighted accuracy %, difference. */
export function weightedComparisonRows(
  rows: ClassComparisonRow[],
): Record<string, string | number>[] {
  return rows.map((r) => ({
    Style: r.className,
    'Non-Weighted Accuracy%': pct(r.accuracyA),
    'Weighted Accuracy%': pct(r.accuracyB),
    '% Difference': `${r.difference >= 0 ? '+' : ''}${(100 * r.difference).toFixed(0)}%`,
    'test images': r.support,
  }));
}

export function weightedComparisonFigure(rows: ClassComparisonRow[]): Figure {
  return perClassComparisonFigure(
    rows.map((r) => ({ className: r.className, a: r.accuracyA, b: r.accuracyB })),
    ['non-weighted', 'weighted'],
    { title: 'Test accuracy per style, without and with class weights' },
  );
}

export function weightedConfusionFigure(
  unweighted: TestEvaluation,
  weighted: TestEvaluation,
): Figure {
  return sideBySideConfusionFigure(
    unweighted.report.confusion,
    weighted.report.confusion,
    unweighted.classNames,
    ['Non-weighted', 'Weighted'],
    { normalized: true },
  );
}

/** A run's history, one row per epoch (notebook 02, `artstyle pretrain`). */
export function historyTable(history: EpochRecord[], caption: string): TableView {
  return {
    caption,
    rows: history.map((r) => ({
      epoch: r.epoch,
      loss: r.loss,
      accuracy: r.accuracy,
      val_loss: r.val_loss,
      val_accuracy: r.val_accuracy,
      seconds: r.seconds,
    })),
  };
}

/** The sweep's ranking with each accuracy's 95% interval (notebook 03, `artstyle sweep`). */
export function sweepRankingTable(sel: SweepSelection): TableView {
  return {
    caption: `Ranking by ${sel.criterion}`,
    rows: sel.ranking.map((r) => ({
      model: r.name,
      'val accuracy': pct(r.accuracy),
      correct: `${r.correct}/${r.n}`,
      '95% CI': `${pct(r.interval.lower)} - ${pct(r.interval.upper)}`,
      'val loss': r.valLoss,
    })),
  };
}

/** One line: a model's test accuracy, balanced accuracy and macro-F1. */
export function testSummaryLine(name: string, e: TestEvaluation): string {
  const r = e.report;
  return `${name} on test: accuracy ${pct(r.accuracy)}, balanced accuracy ${pct(r.balancedAccuracy)}, macro-F1 ${r.macroF1.toFixed(3)}`;
}

export function perStyleTestTable(e: TestEvaluation): TableView {
  return {
    caption: 'Test accuracy, precision, recall and F1 per style (* never predicted: 0/0 as 0)',
    rows: perStyleTestRows(e.report),
  };
}

export function mostConfusedTable(e: TestEvaluation, top = 8): TableView {
  return {
    caption: 'Most-confused pairs',
    rows: e.report.mostConfused.slice(0, top).map((p) => ({
      true: p.trueClass,
      predicted: p.predictedClass,
      images: p.count,
      'share of the style': pct(p.rate),
    })),
  };
}

/** Notebook 04's two tables: per style (the seed's), and overall on the same test images. */
export function weightedComparisonTable(cmp: WeightedComparison): TableView {
  return {
    caption: `Test accuracy per style, block${cmp.blocks}`,
    rows: weightedComparisonRows(cmp.rows),
  };
}

export function overallComparisonTable(cmp: WeightedComparison): TableView {
  const row = (model: string, e: TestEvaluation) => ({
    model,
    accuracy: pct(e.report.accuracy),
    'balanced accuracy': pct(e.report.balancedAccuracy),
    'macro-F1': e.report.macroF1,
  });
  return {
    caption: 'Overall, on the same test images',
    rows: [row('non-weighted', cmp.unweighted), row('weighted', cmp.weighted)],
  };
}

/**
 * A test evaluation per style: the seed's accuracy (recall) with scikit-learn's precision, F1 and
 * support beside it (zero_division=0: a style never predicted has precision 0, marked `*`).
 */
export function perStyleTestRows(report: ClassificationReport): Record<string, string | number>[] {
  return report.perClass.map((c) => ({
    style: c.className,
    accuracy: pct(c.accuracy),
    precision: `${c.precision.toFixed(3)}${c.illDefined.includes('precision') ? '*' : ''}`,
    recall: c.recall,
    F1: c.f1,
    'test images': c.support,
    predicted: c.predicted,
  }));
}

/** Per-style precision, recall and F1 of two evaluations on the same test images. */
export function perStylePrfComparisonRows(
  a: ClassificationReport,
  b: ClassificationReport,
  names: [string, string],
): Record<string, string | number>[] {
  return a.perClass.map((c, i) => {
    const o = b.perClass[i]!;
    return {
      style: c.className,
      [`${names[0]} P`]: c.precision,
      [`${names[0]} R`]: c.recall,
      [`${names[0]} F1`]: c.f1,
      [`${names[1]} P`]: o.precision,
      [`${names[1]} R`]: o.recall,
      [`${names[1]} F1`]: o.f1,
      'test images': c.support,
    };
  });
}

/** Notebook 04's per-style precision, recall and F1 of both models. */
export function perStylePrfComparisonTable(cmp: WeightedComparison): TableView {
  return {
    caption: 'Test precision, recall and F1 per style',
    rows: perStylePrfComparisonRows(cmp.unweighted.report, cmp.weighted.report, [
      'non-weighted',
      'weighted',
    ]),
  };
}
