#!/usr/bin/env node
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import { selectBackend } from '../backend/select';
import { countsTable } from '../data/countsTable';
import { executeNotebookResuming, listNotebooks, notebookErrors } from '../notebooks/run';
import {
  buildReport,
  closeBrowser,
  explainedVarianceFigure,
  exportFigures,
  modelComparisonFigure,
  projection2dFigure,
  trainingCurvesFigure,
  type Figure,
} from '../plots';
import { ensureData } from '../pipeline/data';
import { pct, textTable, viewText } from '../pipeline/notebook';
import { ENV_KEYS, projectRoot, resolveParams, RunParams, stepDir } from '../pipeline/params';
import * as study1 from '../pipeline/study1';
import * as study2 from '../pipeline/study2';
import * as views from '../pipeline/views1';
import type { StudyConfig } from '../config/profiles';
import { parseThreads } from '../train/microbatch';
import type { SweepSelection } from '../train/sweep';
import * as views2 from '../pipeline/views2';
import { ArtstyleError, errorMessage } from '../util/errors';
import { slurmMain } from './slurm';
import { USE_MODEL_COMMANDS, USE_MODEL_USAGE } from './predict';

/**
 * `artstyle <command>`: the notebooks' steps without Jupyter, for scripts and servers. Every command
 * takes the same parameters as the notebooks' parameters cell and writes the same outputs.
 */
/** The flags that only some commands take (checked in `commandFlags`). */
export interface CommandFlags {
  /** `sweep --member N`: train only the member with N frozen blocks. */
  member?: number;
  /** `sweep --merge`: only the choice and the test evaluation, from the member folders. */
  merge: boolean;
}

interface Command {
  summary: string;
  run(params: RunParams, rest: string[], flags: CommandFlags): Promise<void>;
}

function paramsEnv(params: RunParams): NodeJS.ProcessEnv {
  return {
    [ENV_KEYS.profile]: params.profile,
    [ENV_KEYS.sculpturesDir]: params.sculpturesDir,
    [ENV_KEYS.paintingsDir]: params.paintingsDir,
    [ENV_KEYS.seed]: String(params.seed),
    [ENV_KEYS.outDir]: params.outDir,
  };
}

async function runAllNotebooks(params: RunParams, only: string[]): Promise<void> {
  const all = listNotebooks(path.join(projectRoot(), 'notebooks'));
  const chosen = only.length
    ? all.filter((nb) => only.some((o) => path.basename(nb).startsWith(o)))
    : all;
  if (!chosen.length)
    throw new ArtstyleError(
      'invalid-argument',
      `no notebook matches ${only.join(', ')}`,
      'notebooks',
    );
  const outDir = stepDir(params, 'notebooks');
  const t0 = Date.now();
  for (const nb of chosen) {
    const name = path.basename(nb, '.ipynb');
    console.log(`[all] executing ${name} (profile ${params.profile}) ...`);
    const done = await executeNotebookResuming(
      nb,
      { outDir, env: paramsEnv(params), html: true },
      (e, kept) =>
        console.log(
          `[all] ${name}: the kernel died (its output: ${kept}); running it again, resuming from the checkpoints\n${e.message}`,
        ),
    );
    const errors = notebookErrors(done.executed);
    if (errors.length)
      throw new ArtstyleError(
        'notebook-failed',
        `${name}: ${errors.map((e) => e.error).join('; ')}`,
        done.executed,
      );
    console.log(`[all] ${name} done in ${done.seconds.toFixed(0)} s -> ${done.executed}`);
  }
  console.log(`[all] ${chosen.length} notebooks in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
}

/** Writes figures as PNG and SVG into the run's figures/ folder (what the notebooks show). */
async function saveFigures(
  params: RunParams,
  figures: { name: string; figure: Figure }[],
): Promise<void> {
  const dir = stepDir(params, 'figures');
  const jobs = figures.flatMap(({ name, figure }) =>
    (['png', 'svg'] as const).map((format) => ({
      figure,
      file: path.join(dir, `${name}.${format}`),
      options: { format, scale: format === 'png' ? 2 : undefined },
    })),
  );
  try {
    await exportFigures(jobs);
  } finally {
    await closeBrowser();
  }
  console.log(`figures: ${figures.map((f) => f.name).join(', ')} -> ${dir}`);
}

function requireCompleted(result: { status: string; message?: string }, what: string): void {
  if (result.status !== 'completed')
    throw new ArtstyleError(
      'interrupted',
      `${what} stopped: ${result.message ?? 'run the same command again to resume'}`,
      what,
    );
}

async function prepareCommand(params: RunParams): Promise<void> {
  await selectBackend();
  console.log((await ensureData(params)).detail);
  const config = study1.studyConfig(params);
  const prepared = await study1.prepareSculptures(params, config);
  console.log(
    textTable(countsTable(prepared.manifest).rows as unknown as Record<string, string | number>[], {
      caption: 'Images per style and split',
    }),
  );
  if (prepared.folder.skipped.length)
    console.log(
      textTable(
        prepared.folder.skipped.map((f) => ({ file: f.path, reason: f.reason })),
        { caption: `\n${prepared.folder.skipped.length} skipped files` },
      ),
    );
  console.log(`manifest: ${prepared.manifestFile}`);
  console.log(study2.paintingsOverview(params).summary);
  await saveFigures(params, [
    { name: 'images-per-style', figure: views.countsFigure(prepared.manifest) },
    {
      name: 'samples-per-style',
      figure: await views.samplesFigure(prepared.manifest, prepared.cacheDir, config, params.seed),
    },
    {
      name: 'augmentation',
      figure: await views.augmentationFigure(
        prepared.manifest,
        prepared.cacheDir,
        config,
        params.seed,
      ),
    },
  ]);
}

async function pretrainCommand(params: RunParams): Promise<void> {
  await selectBackend();
  const config = study1.studyConfig(params);
  const sources = study1.sculptureSources(params, config);
  const result = await study1.pretrainStep(params, config, sources);
  requireCompleted(result, 'pretraining');
  console.log(viewText(views.historyTable(result.history, 'Pretraining history')));
  await saveFigures(params, [
    {
      name: 'pretraining-curves',
      figure: trainingCurvesFigure(result.history, {
        title: 'Pretraining (base frozen): accuracy and loss',
      }),
    },
  ]);
}

/** `sweep --member N`: one member into sweep/block<N>, nothing else (a cluster array task). */
async function sweepMemberCommand(params: RunParams, blocks: number): Promise<void> {
  await selectBackend();
  const config = study1.studyConfig(params);
  const sources = study1.sculptureSources(params, config);
  const r = await study1.sweepMemberStep(params, config, sources, blocks);
  requireCompleted(r, `sweep member block${blocks}`);
  const m = r.model!;
  console.log(
    `block${blocks}: final validation accuracy ${pct(m.valAccuracy)} (${m.correct}/${m.n}) -> ${m.dir}`,
  );
}

/** The choice (from the member folders or a finished sweep) and the chosen model on test. */
async function sweepReport(
  params: RunParams,
  config: StudyConfig,
  sources: study1.SculptureSources,
  sel: SweepSelection,
): Promise<void> {
  console.log(viewText(views.sweepRankingTable(sel)));
  console.log(sel.text);
  const name = `block${sel.best.blocks}`;
  const test = await study1.evaluateOnTest(
    params,
    config,
    sources,
    path.join(stepDir(params, 'sweep'), name),
  );
  console.log(views.testSummaryLine(name, test));
  console.log(viewText(views.perStyleTestTable(test)));
  console.log(viewText(views.mostConfusedTable(test)));
  const runs = study1.sweepHistories(params, config);
  await saveFigures(params, [
    { name: 'sweep-val-accuracy', figure: views.sweepFigure(runs, 'val_accuracy') },
    { name: 'sweep-val-loss', figure: views.sweepFigure(runs, 'val_loss') },
    {
      name: 'test-confusion',
      figure: views.testConfusionFigure(test, `Normalized confusion matrix, ${name} on test`),
    },
    {
      name: 'most-wrong',
      figure: await views.mostWrongFigure(
        test,
        sources.manifest,
        path.join(stepDir(params, 'prepare'), 'cache'),
        config,
      ),
    },
  ]);
}

async function sweepCommand(
  params: RunParams,
  _rest: string[],
  flags: CommandFlags,
): Promise<void> {
  if (flags.member !== undefined) return sweepMemberCommand(params, flags.member);
  await selectBackend();
  const config = study1.studyConfig(params);
  const sources = study1.sculptureSources(params, config);
  const sweep = flags.merge
    ? study1.mergeSweepStep(params, config, sources, { log: null })
    : await study1.sweepStep(params, config, sources);
  requireCompleted(sweep, 'the block sweep');
  if (!sweep.selection)
    throw new ArtstyleError('no-selection', 'the sweep finished without a selection', 'sweep');
  await sweepReport(params, config, sources, sweep.selection);
}

async function weightsCommand(params: RunParams): Promise<void> {
  await selectBackend();
  const config = study1.studyConfig(params);
  const sources = study1.sculptureSources(params, config);
  const cmp = await study1.classWeightsStep(params, config, sources);
  console.log(viewText(views.weightedComparisonTable(cmp)));
  console.log(viewText(views.overallComparisonTable(cmp)));
  console.log(viewText(views.perStylePrfComparisonTable(cmp)));
  await saveFigures(params, [
    { name: 'weighted-per-style', figure: views.weightedComparisonFigure(cmp.rows) },
    {
      name: 'weighted-confusion',
      figure: views.weightedConfusionFigure(cmp.unweighted, cmp.weighted),
    },
  ]);
}

async function featuresCommand(params: RunParams): Promise<void> {
  await selectBackend();
  console.log((await ensureData(params)).detail);
  const config = study2.metadataConfig(params);
  const overview = study2.paintingsOverview(params);
  const features = await study2.extractPaintingFeatures(params, config, overview);
  const reduced = await study2.reduceFeatures(params, config, features.store);
  const data = study2.genreData(overview, reduced);
  const figures: { name: string; figure: Figure }[] = [
    {
      name: 'pca-explained-variance',
      figure: explainedVarianceFigure(reduced.explainedVarianceRatio, {
        title: 'PCA: explained variance ratio per component',
      }),
    },
  ];
  const projection = study2.projectionPoints(data);
  figures.push({
    name: 'pca-projection',
    figure: projection2dFigure(projection.points, projection.labels, {
      title: 'Paintings on the first two principal components, by (first) genre',
      axisTitles: ['PC 1', 'PC 2'],
    }),
  });
  const results: study2.GenreModelsResult[] = [];
  for (const kind of ['painting', 'artist'] as const) {
    const result = study2.trainGenreModels(
      data,
      study2.makeSplit(data, kind, config, params.seed),
      kind,
      config,
      params.seed,
    );
    results.push(result);
    console.log(`results: ${study2.saveGenreResults(params, result)}`);
    console.log(textTable(views2.metricRows(result), { caption: views2.metricsCaption(result) }));
    console.log(
      textTable(views2.boostingStageRows(result), {
        caption: `GBNN after each member (split by ${kind})`,
      }),
    );
    if (kind === 'painting')
      figures.push({
        name: 'model-comparison',
        figure: modelComparisonFigure(study2.comparisonRows(result), undefined, {
          title: "SNN, BNN, Adam and GBNN (split by painting), with the seed's accuracies",
        }),
      });
  }
  const seeds = await study2.repeatOverSeeds(params, config, data, { done: results });
  const spreads = study2.seedSpreads(seeds);
  const diffs = study2.pairedDifferences(seeds);
  for (const kind of ['painting', 'artist'] as const) {
    console.log(
      textTable(views2.seedSpreadRows(spreads, kind), {
        caption: views2.seedSpreadCaption(seeds, kind),
      }),
    );
    console.log(
      textTable(views2.pairedRows(diffs, kind), {
        caption: `Split by ${kind}: differences to the SNN on the same splits`,
      }),
    );
  }
  console.log(views2.seedConclusion(diffs));
  figures.push({ name: 'seed-spread', figure: views2.seedSpreadFigureOf(seeds) });
  await saveFigures(params, figures);
}

async function reportCommand(params: RunParams): Promise<void> {
  const dir = stepDir(params, 'notebooks');
  const executed = fs.existsSync(dir) ? listNotebooks(dir) : [];
  if (!executed.length)
    throw new ArtstyleError(
      'missing-step-output',
      `no executed notebooks in ${dir}: run \`artstyle all\` (or npm start) first`,
      dir,
    );
  const out = stepDir(params, 'reports');
  const result = await buildReport({ notebooks: executed, outDir: out });
  console.log(
    `[report] ${result.figures} figures from ${executed.length} notebooks -> ${path.join(out, 'index.html')}`,
  );
}

const COMMANDS: Record<string, Command> = {
  data: {
    summary: 'generate the bundled data of the profile if it is missing',
    async run(params) {
      console.log((await ensureData(params)).detail);
    },
  },
  prepare: {
    summary: 'notebook 01: scan, resize, split the sculptures; check the paintings',
    run: prepareCommand,
  },
  pretrain: {
    summary: 'notebook 02: train the new head on the frozen Xception base',
    run: pretrainCommand,
  },
  sweep: {
    summary:
      'notebook 03: fine-tune for each frozen-block count, choose, evaluate on test (--member N: one member only; --merge: only choose and evaluate)',
    run: sweepCommand,
  },
  weights: {
    summary: 'notebook 04: train again with balanced class weights and compare per style',
    run: weightsCommand,
  },
  features: {
    summary: 'notebook 05: ResNet50 features, PCA, the four genre networks, repeated over seeds',
    run: featuresCommand,
  },
  report: {
    summary: 'export every figure of the executed notebooks into reports/ with an index page',
    run: reportCommand,
  },
  backend: {
    summary: 'show which TensorFlow.js backend this machine gets, and why',
    async run() {
      await selectBackend();
    },
  },
  all: {
    summary:
      'execute every notebook in order with Jupyter (or those named after it), then write the report',
    async run(params, rest) {
      console.log((await ensureData(params)).detail);
      await runAllNotebooks(params, rest);
      await reportCommand(params);
      console.log(`[all] executed notebooks (.ipynb and .html): ${stepDir(params, 'notebooks')}`);
      console.log(
        `[all] figures and report: ${path.join(stepDir(params, 'reports'), 'index.html')}`,
      );
    },
  },
};

/** --member and --merge belong to `sweep`; a wrong use is an error naming the flag. */
function commandFlags(command: string, v: { member?: string; merge?: boolean }): CommandFlags {
  if ((v.member !== undefined || v.merge) && command !== 'sweep')
    throw new ArtstyleError(
      'invalid-argument',
      `${v.member !== undefined ? '--member' : '--merge'} is an option of \`artstyle sweep\`, not of ${command}`,
      v.member !== undefined ? '--member' : '--merge',
    );
  if (v.member !== undefined && v.merge)
    throw new ArtstyleError(
      'invalid-argument',
      '--member and --merge are separate units: train the members first, then merge',
      '--member',
    );
  if (v.member === undefined) return { merge: v.merge === true };
  const n = Number(v.member);
  if (!/^\d+$/.test(v.member) || !Number.isInteger(n))
    throw new ArtstyleError(
      'invalid-argument',
      `--member: expected a frozen-block count (an integer >= 0), got ${JSON.stringify(v.member)}`,
      '--member',
    );
  return { member: n, merge: false };
}

const USAGE = `usage: artstyle <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}
  slurm      the study as Slurm jobs: \`artstyle slurm submit|status --help\`

options (the same parameters as each notebook's parameters cell; environment variables in brackets):
  --profile smoke|teaching|full   [${ENV_KEYS.profile}]      default teaching
  --sculptures DIR                [${ENV_KEYS.sculpturesDir}]  one folder per style; default data/generated/<profile>/sculptures
  --paintings DIR                 [${ENV_KEYS.paintingsDir}]   artists.csv + resized/; default data/generated/<profile>/paintings
  --seed N                        [${ENV_KEYS.seed}]         default 42
  --out DIR                       [${ENV_KEYS.outDir}]          default runs/<profile>
  --micro-batch N|auto            [${study1.MICRO_BATCH_ENV}] images per training micro-batch; default auto
                                  (the whole batch wherever it fits)
  --threads N                     [ARTSTYLE_THREADS]    worker threads for the micro-batches; default one
                                  per core on wasm (never changes a result)
  [ARTSTYLE_SWEEP_MEMBERS=N]      sweep members trained at a time; default on wasm one per core, each
                                  on one thread, within free memory (never changes a result)

sweep units (each its own lock, checkpoint and resume; the same results as a plain sweep):
  sweep --member N                train only the member with N frozen blocks into <out>/sweep/blockN
                                  (N one of the profile's sweep counts; needs a finished pretrain)
  sweep --merge                   choose from the finished members and evaluate on test

${USE_MODEL_USAGE}
`;

export async function main(argv: string[]): Promise<number> {
  // `slurm` has its own options (lib/cli/slurm.ts).
  if (argv[0] === 'slurm') return slurmMain(argv.slice(1));
  const useModel = USE_MODEL_COMMANDS[argv[0] ?? ''];
  if (useModel) return runReporting(argv[0]!, () => useModel(argv.slice(1)));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        profile: { type: 'string' },
        sculptures: { type: 'string' },
        paintings: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        member: { type: 'string' },
        merge: { type: 'boolean' },
        'micro-batch': { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`artstyle: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  const [name, ...rest] = parsed.positionals;
  if (parsed.values.help || !name) {
    console.log(USAGE);
    return name || parsed.values.help ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`artstyle: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    // Through the environment, so that the notebooks that `all` runs get it too.
    const micro = parsed.values['micro-batch'];
    if (micro !== undefined) process.env[study1.MICRO_BATCH_ENV] = micro;
    if (parsed.values.threads !== undefined) {
      parseThreads(parsed.values.threads, '--threads');
      process.env['ARTSTYLE_THREADS'] = parsed.values.threads;
    }
    const params = resolveParams({
      profile: parsed.values.profile,
      sculpturesDir: parsed.values.sculptures,
      paintingsDir: parsed.values.paintings,
      seed: parsed.values.seed,
      outDir: parsed.values.out,
    });
    await command.run(params, rest, commandFlags(name, parsed.values));
    return 0;
  } catch (e) {
    if (e instanceof ArtstyleError) {
      console.error(`artstyle ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** Runs a command, reporting an ArtstyleError as one line and exit code 1. */
async function runReporting(name: string, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (!(e instanceof ArtstyleError)) throw e;
    console.error(`artstyle ${name}: ${e.message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
