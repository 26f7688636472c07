import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateAll } from '../data/synth';
import { bundledDataDir, type RunParams } from './params';
import { ArtstyleError } from '../util/errors';

/** The bundled data is generated from this seed whatever the run's seed, so every run sees the same images. */
export const BUNDLED_DATA_SEED = 42;

export interface DataStatus {
  sculptures: string;
  paintings: string;
  generated: boolean;
  detail: string;
}

/**
 * Makes sure the run's data exists. The bundled data (the default paths) is generated on first use,
 * at the profile's size; a user's own data is only checked, never written to.
 */
export async function ensureData(params: RunParams): Promise<DataStatus> {
  const bundled = bundledDataDir(params.profile);
  const isBundled = (p: string): boolean =>
    path.resolve(p).startsWith(path.resolve(bundled) + path.sep);
  let generated = false;
  let detail = '';
  if (
    (isBundled(params.sculpturesDir) && !fs.existsSync(params.sculpturesDir)) ||
    (isBundled(params.paintingsDir) && !fs.existsSync(params.paintingsDir))
  ) {
    const t0 = Date.now();
    const { sculptures, paintings } = await generateAll({
      outDir: bundled,
      seed: BUNDLED_DATA_SEED,
      size: params.profile,
    });
    generated = !(sculptures.reused && paintings.reused);
    detail = `bundled ${params.profile} data: ${sculptures.total} sculpture images in ${sculptures.styles.length} styles, ${paintings.total} paintings; generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  } else {
    detail = 'data present';
  }
  for (const [what, dir] of [
    ['sculptures', params.sculpturesDir],
    ['paintings', params.paintingsDir],
  ] as const) {
    if (!fs.existsSync(dir)) {
      throw new ArtstyleError(
        'missing-folder',
        `${what} folder ${dir} does not exist; see data/README.md for the expected layout`,
        dir,
      );
    }
  }
  return { sculptures: params.sculpturesDir, paintings: params.paintingsDir, generated, detail };
}
