/**
 * `npm run data`: generates the bundled synthetic data sets (sculpture styles and paintings with
 * artists.csv) deterministically from a seed. Options: --seed <int> (42), --size
 * smoke|teaching|full (teaching), --out <dir> (data/generated/<size>). Does nothing when the output
 * already holds the same seed, size and generator version.
 */
import * as path from 'node:path';
import { ArtstyleError, errorMessage } from '../lib/util/errors';
import { DATA_SIZES, DataSize, generateAll } from '../lib/data/synth';

interface Args {
  seed: number;
  size: DataSize;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seed: 42, size: 'teaching', out: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=')
      ? (a.split(/=(.*)/s, 2) as [string, string])
      : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined)
        throw new ArtstyleError('invalid-argument', `${flag}: missing value`, flag);
      return v;
    };
    if (flag === '--seed') {
      const v = value();
      if (!/^-?\d+$/.test(v)) {
        throw new ArtstyleError(
          'invalid-argument',
          `--seed: expected an integer, got ${JSON.stringify(v)}`,
          '--seed',
        );
      }
      args.seed = Number(v);
    } else if (flag === '--size') {
      const v = value();
      if (!(DATA_SIZES as readonly string[]).includes(v)) {
        throw new ArtstyleError(
          'invalid-argument',
          `--size: expected one of ${DATA_SIZES.join(', ')}, got ${JSON.stringify(v)}`,
          '--size',
        );
      }
      args.size = v as DataSize;
    } else if (flag === '--out') {
      args.out = value();
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: npm run data -- [--seed 42] [--size smoke|teaching|full] [--out data/generated/<size>]\n',
      );
      process.exit(0);
    } else {
      throw new ArtstyleError('invalid-argument', `unknown option ${JSON.stringify(a)}`, a);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  // The default is where the notebooks and the CLI look for the profile of the same name.
  const out = path.resolve(args.out || path.join('data', 'generated', args.size));
  const { sculptures, paintings } = await generateAll({
    outDir: out,
    seed: args.seed,
    size: args.size,
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  for (const s of [sculptures, paintings]) {
    const what =
      s.kind === 'sculptures'
        ? `${s.total} images in ${s.styles.length} style folders, ${s.broken.length} broken files`
        : `${s.total} images of ${s.artists.length} artists`;
    const state = s.reused
      ? 'already there (same seed, size and generator), left as is'
      : 'generated';
    process.stdout.write(`${s.kind}: ${what}: ${state}: ${s.root}\n`);
  }
  process.stdout.write(`seed ${args.seed}, size ${args.size}, ${secs} s\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`generate-data: ${errorMessage(e)}\n`);
  process.exit(e instanceof ArtstyleError ? 2 : 1);
});
