import * as fs from 'node:fs';
import * as path from 'node:path';
import { selectBackend } from '../../lib/backend/select';
import { ensureData } from '../../lib/pipeline/data';
import { resolveParams, type RunParams } from '../../lib/pipeline/params';
import * as study1 from '../../lib/pipeline/study1';
import { tempDir } from '../tmp';

/**
 * A trained smoke run (prepare, pretrain, sweep, the chosen model evaluated on test) in a
 * temporary folder, made once per test process through the same library calls as the CLI steps.
 */
export interface SmokeRun {
  params: RunParams;
  /** The chosen model's folder, with test-report.json. */
  modelDir: string;
  /** A folder of the test split's original files, one sub-folder per style. */
  testImages: string;
  testReport: { report: { accuracy: number; confusion: number[][] }; ids: string[] };
}

let made: Promise<SmokeRun> | undefined;

async function make(): Promise<SmokeRun> {
  await selectBackend({ log: null });
  const out = tempDir('artstyle-use-model-');
  const params = resolveParams({ profile: 'smoke', outDir: out }, {});
  await ensureData(params);
  const config = study1.studyConfig(params);
  await study1.prepareSculptures(params, config);
  const sources = study1.sculptureSources(params, config);
  const quiet = { log: null };
  study1.assertCompleted(await study1.pretrainStep(params, config, sources, quiet), 'pretraining');
  const sweep = await study1.sweepStep(params, config, sources, quiet);
  study1.assertCompleted(sweep, 'sweep');
  const { blocks } = study1.chosenBlocks(params, config);
  const modelDir = path.join(out, 'sweep', `block${blocks}`);
  await study1.evaluateOnTest(params, config, sources, modelDir);
  const testImages = path.join(out, 'test-images');
  for (const it of sources.manifest.items.filter((i) => i.split === 'test')) {
    const dst = path.join(testImages, it.class, it.path.split('/').slice(1).join('__'));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(path.join(sources.manifest.root, it.path), dst);
  }
  const testReport = JSON.parse(
    fs.readFileSync(path.join(modelDir, 'test-report.json'), 'utf8'),
  ) as SmokeRun['testReport'];
  return { params, modelDir, testImages, testReport };
}

export function smokeRun(): Promise<SmokeRun> {
  made ??= make();
  return made;
}
