#!/usr/bin/env node
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../backend/select';
import { executeNotebook, listNotebooks, notebookErrors } from '../notebooks/run';
import { ENV_KEYS, projectRoot, resolveParams, RunParams, stepDir } from '../pipeline/params';
import { ArtstyleError, errorMessage } from '../util/errors';

/**
 * `artstyle <command>`: the notebooks' steps without Jupyter, for scripts and servers. Every command
 * takes the same parameters as the notebooks' parameters cell and writes the same outputs.
 */
interface Command {
  summary: string;
  run(params: RunParams, rest: string[]): Promise<void>;
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
    const done = await executeNotebook(nb, { outDir, env: paramsEnv(params), html: true });
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

const COMMANDS: Record<string, Command> = {
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
      await runAllNotebooks(params, rest);
      console.log(`[all] executed notebooks (.ipynb and .html): ${stepDir(params, 'notebooks')}`);
    },
  },
};

const USAGE = `usage: artstyle <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

options (the same parameters as each notebook's parameters cell; environment variables in brackets):
  --profile smoke|teaching|full   [${ENV_KEYS.profile}]      default teaching
  --sculptures DIR                [${ENV_KEYS.sculpturesDir}]  one folder per style; default data/generated/sculptures
  --paintings DIR                 [${ENV_KEYS.paintingsDir}]   artists.csv + resized/; default data/generated/paintings
  --seed N                        [${ENV_KEYS.seed}]         default 42
  --out DIR                       [${ENV_KEYS.outDir}]          default runs/main
`;

export async function main(argv: string[]): Promise<number> {
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
    const params = resolveParams({
      profile: parsed.values.profile,
      sculpturesDir: parsed.values.sculptures,
      paintingsDir: parsed.values.paintings,
      seed: parsed.values.seed,
      outDir: parsed.values.out,
    });
    await command.run(params, rest);
    return 0;
  } catch (e) {
    if (e instanceof ArtstyleError) {
      console.error(`artstyle ${name}: ${e.message}`);
      return 1;
    }
    throw e;
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
