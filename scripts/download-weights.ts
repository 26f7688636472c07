/**
 * `npm run weights:download [-- xception|resnet50 ...] [--dir data/weights] [--force]`
 * Downloads the Keras ImageNet weight files (without top) into data/weights/. Needs internet
 * access to storage.googleapis.com; nothing else in the project does, and the tests never call it.
 */
import { downloadKerasWeights, KERAS_WEIGHT_FILES } from '../lib/models/weight-files';
import type { BackboneKind } from '../lib/models/preprocess';
import { ArtstyleError, errorMessage } from '../lib/util/errors';

async function main(argv: string[]): Promise<number> {
  const kinds: BackboneKind[] = [];
  let dir: string | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dir') dir = argv[++i];
    else if (a === '--force') force = true;
    else if (a in KERAS_WEIGHT_FILES) kinds.push(a as BackboneKind);
    else {
      process.stderr.write(
        `unknown argument ${JSON.stringify(a)}; expected xception, resnet50, --dir DIR or --force\n`,
      );
      return 2;
    }
  }
  let failed = 0;
  for (const kind of kinds.length ? kinds : (Object.keys(KERAS_WEIGHT_FILES) as BackboneKind[])) {
    try {
      const file = await downloadKerasWeights(kind, { dir, force });
      process.stdout.write(`${kind}: ${file}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(
        `${kind}: ${e instanceof ArtstyleError ? e.message : errorMessage(e)}\n`,
      );
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
