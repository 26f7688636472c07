import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../backend/select';
import { pct, textTable } from '../pipeline/notebook';
import { resolveParams } from '../pipeline/params';
import { exportStudyModel } from '../pipeline/export';
import { loadStudyModel, predictImages, type PredictionSet } from '../pipeline/predict';
import { ArtstyleError, errorMessage } from '../util/errors';

/**
 * `artstyle predict` and `artstyle export`: using a trained model. They parse their own options
 * (beside the shared --profile, --out, --seed, --sculptures, --paintings).
 */

const SHARED = {
  profile: { type: 'string' },
  sculptures: { type: 'string' },
  paintings: { type: 'string' },
  seed: { type: 'string' },
  model: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const USE_MODEL_USAGE = `using a trained model (own options; --profile/--seed as above, --out is the run folder for predict):
  predict <image|folder> [--model <run>/sweep/blockN] [--top K] [--format table|csv|json] [--explain DIR]
             top-K styles per image (default: the sweep's chosen model of --out); Grad-CAM overlays into DIR
  export --out DIR [--model <run>/sweep/blockN] [--run <run folder>]
             TF.js layers model + model card + a static web page that classifies in the browser`;

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The predictions as text in one of the three formats. */
export function formatPredictions(set: PredictionSet, format: 'table' | 'csv' | 'json'): string {
  const k = set.images[0]?.top.length ?? 0;
  if (format === 'json') return JSON.stringify(set, null, 2);
  if (format === 'csv') {
    const header = [
      'file',
      'label',
      ...Array.from({ length: k }, (_, i) => [`top${i + 1}`, `p${i + 1}`]).flat(),
      'skipped',
      'reason',
    ];
    const lines = [header.join(',')];
    for (const im of set.images)
      lines.push(
        [
          im.file,
          im.label ?? '',
          ...im.top.flatMap((t) => [t.className, t.probability.toFixed(6)]),
          '',
          '',
        ]
          .map(csvCell)
          .join(','),
      );
    for (const s of set.skipped)
      lines.push(
        [s.file, '', ...Array.from({ length: 2 * k }, () => ''), 'yes', s.reason]
          .map(csvCell)
          .join(','),
      );
    return lines.join('\n');
  }
  const rows = set.images.map((im) => {
    const row: Record<string, string> = { file: im.file };
    if (set.accuracy) row['label'] = im.label ?? '';
    im.top.forEach((t, i) => (row[`top ${i + 1}`] = `${t.className} ${pct(t.probability)}`));
    return row;
  });
  let text = rows.length
    ? textTable(rows, { caption: `${rows.length} images` })
    : 'no images predicted';
  if (set.skipped.length)
    text += `\n\n${textTable(
      set.skipped.map((s) => ({ file: s.file, reason: s.reason })),
      { caption: `${set.skipped.length} skipped files` },
    )}`;
  if (set.accuracy) {
    const a = set.accuracy;
    text += `\n\naccuracy over ${a.n} images in style folders: ${pct(a.correct / a.n)} (${a.correct}/${a.n}; 95% CI ${pct(a.interval.lower)}-${pct(a.interval.upper)})`;
  }
  return text;
}

const OWN = {
  ...SHARED,
  out: { type: 'string' },
  top: { type: 'string' },
  format: { type: 'string' },
  explain: { type: 'string' },
  run: { type: 'string' },
} as const;

function parse(argv: string[], allowed: (keyof typeof OWN)[]) {
  const options = Object.fromEntries(
    Object.entries(OWN).filter(
      ([k]) => k in SHARED || k === 'out' || allowed.includes(k as keyof typeof OWN),
    ),
  ) as typeof OWN;
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    throw new ArtstyleError('invalid-argument', `${errorMessage(e)}\n\n${USE_MODEL_USAGE}`, 'argv');
  }
}

async function predictCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, ['top', 'format', 'explain']);
  if (values.help) {
    console.log(USE_MODEL_USAGE);
    return;
  }
  if (positionals.length !== 1)
    throw new ArtstyleError(
      'invalid-argument',
      `predict takes one image or folder, got ${positionals.length}\n\n${USE_MODEL_USAGE}`,
      'input',
    );
  const format = (values.format as string | undefined) ?? 'table';
  if (!['table', 'csv', 'json'].includes(format))
    throw new ArtstyleError(
      'invalid-argument',
      `--format: expected table, csv or json, got ${JSON.stringify(format)}`,
      'format',
    );
  const top = values.top === undefined ? 3 : Number(values.top);
  const params = resolveParams({
    profile: values.profile,
    sculpturesDir: values.sculptures,
    paintingsDir: values.paintings,
    seed: values.seed,
    outDir: values.out,
  });
  // The backend's notes and the model line go to stderr, so that csv and json on stdout stay clean.
  await selectBackend({ log: (line) => console.error(line) });
  const sm = loadStudyModel(params, values.model as string | undefined);
  console.error(
    `model: ${sm.modelDir} (${sm.source}; profile ${sm.profile}, ${sm.imageSize} px, ${sm.classNames.length} styles)`,
  );
  try {
    const explainDir =
      values.explain === undefined ? undefined : path.resolve(values.explain as string);
    const set = await predictImages(sm, path.resolve(positionals[0]!), {
      topK: top,
      ...(explainDir ? { explainDir } : {}),
    });
    console.log(formatPredictions(set, format as 'table' | 'csv' | 'json'));
    if (explainDir) console.error(`Grad-CAM overlays: ${explainDir}`);
  } finally {
    sm.model.dispose();
  }
}

async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, ['run']);
  if (values.help) {
    console.log(USE_MODEL_USAGE);
    return;
  }
  if (positionals.length)
    throw new ArtstyleError(
      'invalid-argument',
      `export takes no positional arguments, got ${positionals.join(' ')}`,
      'argv',
    );
  if (typeof values.out !== 'string' || !values.out)
    throw new ArtstyleError(
      'invalid-argument',
      `export needs --out DIR (the folder to write the model, card and page into)\n\n${USE_MODEL_USAGE}`,
      'out',
    );
  const params = resolveParams({
    profile: values.profile,
    sculpturesDir: values.sculptures,
    paintingsDir: values.paintings,
    seed: values.seed,
    outDir: values.run,
  });
  await selectBackend();
  const sm = loadStudyModel(params, values.model as string | undefined);
  try {
    const result = await exportStudyModel(sm, path.resolve(values.out));
    console.log(`exported ${sm.modelDir} (${sm.source}) -> ${result.dir}`);
    for (const f of result.files) console.log(`  ${f}`);
    console.log(
      `open ${path.join(result.dir, 'index.html')} in a browser (works from the folder or any static host)`,
    );
  } finally {
    sm.model.dispose();
  }
}

/** Commands that parse their own arguments; `main` hands them argv after the command name. */
export const USE_MODEL_COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  predict: predictCommand,
  export: exportCommand,
};
