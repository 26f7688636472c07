import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';

/**
 * The parameters every notebook and CLI command shares: which profile, where the data is, the seed
 * and the output folder. Notebooks read them from the environment in their parameters cell, so the
 * main job (and a user) can run the same notebook as a smoke test, a teaching pass or the full study.
 */
import { PROFILE_NAMES, type ProfileName } from '../config/names';

export { PROFILE_NAMES, type ProfileName };

export interface RunParams {
  profile: ProfileName;
  /** One folder per sculpture style (the first study). */
  sculpturesDir: string;
  /** `artists.csv` and `resized/` (the second study). */
  paintingsDir: string;
  seed: number;
  /** Everything a run writes goes under here. */
  outDir: string;
}

/** The project root (the folder with package.json), found from this compiled file. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir)
      throw new ArtstyleError('no-project-root', `cannot find package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export const ENV_KEYS = {
  profile: 'ARTSTYLE_PROFILE',
  sculpturesDir: 'ARTSTYLE_SCULPTURES',
  paintingsDir: 'ARTSTYLE_PAINTINGS',
  seed: 'ARTSTYLE_SEED',
  outDir: 'ARTSTYLE_OUT',
} as const;

/** Where the bundled (generated) data of a profile's size lives: data/generated/<profile>/. */
export function bundledDataDir(profile: ProfileName): string {
  return path.join(projectRoot(), 'data', 'generated', profile);
}

export function defaultParams(profile: ProfileName = 'teaching'): RunParams {
  return {
    profile,
    sculpturesDir: path.join(bundledDataDir(profile), 'sculptures'),
    paintingsDir: path.join(bundledDataDir(profile), 'paintings'),
    seed: 42,
    outDir: path.join(projectRoot(), 'runs', profile),
  };
}

/** Validates and completes parameters; every error names the parameter and what it accepts. */
export function resolveParams(
  overrides: Partial<Record<keyof RunParams, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): RunParams {
  const pick = (key: keyof RunParams): unknown =>
    overrides[key] !== undefined ? overrides[key] : env[ENV_KEYS[key]] || undefined;
  const profile = pick('profile');
  if (profile !== undefined && !PROFILE_NAMES.includes(profile as ProfileName)) {
    throw new ArtstyleError(
      'invalid-parameter',
      `profile: ${JSON.stringify(profile)} is not a profile; choose one of ${PROFILE_NAMES.join(', ')}`,
      'profile',
    );
  }
  // The defaults follow the profile: its own bundled data size and its own output folder.
  const p = defaultParams((profile as ProfileName | undefined) ?? 'teaching');
  const seed = pick('seed');
  if (seed !== undefined) {
    const n = typeof seed === 'number' ? seed : Number(seed);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) {
      throw new ArtstyleError(
        'invalid-parameter',
        `seed: ${JSON.stringify(seed)} is not an integer in 0..4294967295`,
        'seed',
      );
    }
    p.seed = n;
  }
  for (const key of ['sculpturesDir', 'paintingsDir', 'outDir'] as const) {
    const v = pick(key);
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') {
      throw new ArtstyleError(
        'invalid-parameter',
        `${key}: expected a folder path, got ${JSON.stringify(v)}`,
        key,
      );
    }
    p[key] = path.resolve(v);
  }
  return p;
}

/** The folders of the pipeline's steps under the output folder; each step writes only its own. */
export const STEP_DIRS = {
  prepare: 'prepare',
  pretrain: 'pretrain',
  sweep: 'sweep',
  weighted: 'weighted',
  features: 'features',
  figures: 'figures',
  notebooks: 'notebooks',
  reports: 'reports',
} as const;
export type StepName = keyof typeof STEP_DIRS;

export function stepDir(params: RunParams, step: StepName): string {
  return path.join(params.outDir, STEP_DIRS[step]);
}

/** Which notebook (and CLI command) produces each step's outputs, for "run this first" messages. */
export const PRODUCER: Record<StepName, { notebook: string; command: string }> = {
  prepare: { notebook: '01-data-prep', command: 'prepare' },
  pretrain: { notebook: '02-pretraining', command: 'pretrain' },
  sweep: { notebook: '03-block-sweep', command: 'sweep' },
  weighted: { notebook: '04-class-weights', command: 'weights' },
  features: { notebook: '05-metadata-features', command: 'features' },
  figures: { notebook: '00-setup', command: 'report' },
  notebooks: { notebook: '00-setup', command: 'all' },
  reports: { notebook: '00-setup', command: 'report' },
};

/**
 * Returns the path of an earlier step's output, or throws an error that says which notebook or
 * command to run first. `file` is relative to the step's folder.
 */
export function requireStepOutput(params: RunParams, step: StepName, file: string): string {
  const full = path.join(stepDir(params, step), file);
  if (!fs.existsSync(full)) {
    const by = PRODUCER[step];
    throw new ArtstyleError(
      'missing-step-output',
      `${full} does not exist: run notebook ${by.notebook} first (or \`artstyle ${by.command}\`) with the same profile (${params.profile}) and output folder (${params.outDir})`,
      full,
    );
  }
  return full;
}
