import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_RESOURCES, validateResources, type SlurmResources } from '../cluster/slurm';
import {
  dryRun,
  requeueUnit,
  studyStatus,
  submitStudy,
  type ClusterCli,
} from '../pipeline/cluster1';
import { textTable } from '../pipeline/notebook';
import { ENV_KEYS, resolveParams } from '../pipeline/params';
import * as study1 from '../pipeline/study1';
import { ArtstyleError, errorMessage } from '../util/errors';

/**
 * `artstyle slurm submit|status`: the first study as a chain of Slurm jobs (lib/pipeline/cluster1.ts)
 * and, later, where each of its units stands.
 */

export const SLURM_USAGE = `usage: artstyle slurm submit [options]   write the study's sbatch scripts and submit them
       artstyle slurm status [options]   done / running / pending / failed for every unit
       artstyle slurm requeue UNIT [options]
                                         put a killed or failed unit (pretrain, block<N>, merge,
                                         weighted) back into the queue; it resumes from its
                                         checkpoint, and the jobs waiting for it wait again

The run's parameters, as for every command:
  --profile smoke|teaching|full   [${ENV_KEYS.profile}]
  --sculptures DIR  --paintings DIR  --seed N  --out DIR (the shared output folder)

submit:
  --dry-run               print the scripts and the sbatch commands; submit nothing
  --partition NAME        sbatch --partition (default: the cluster's default)
  --cpus-per-task N       default ${DEFAULT_RESOURCES.cpusPerTask}
  --mem SIZE              per job, e.g. 8G (default: the partition's)
  --time LIMIT            per job, e.g. 4:00:00 or 1-00:00:00 (default: the partition's)
  --gpus N                --gres=gpu:N on every job (default 0)
  --max-concurrent K      at most K sweep members at once (--array=...%K)
  --signal-seconds S      SIGTERM S seconds before the time limit (default ${DEFAULT_RESOURCES.signalSeconds})
  --no-requeue            do not requeue preempted jobs (default: --requeue)
`;

function intOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    throw new ArtstyleError(
      'invalid-slurm-option',
      `${option}: expected an integer, got ${JSON.stringify(value)}`,
      option,
    );
  return Number(value);
}

/** The resources of `submit`, from its options (every one validated; errors name the option). */
export function resourcesFromOptions(
  v: Record<string, string | boolean | undefined>,
): SlurmResources {
  const str = (k: string): string | undefined =>
    typeof v[k] === 'string' ? (v[k] as string) : undefined;
  return validateResources({
    partition: str('partition') ?? DEFAULT_RESOURCES.partition,
    cpusPerTask:
      intOption(str('cpus-per-task'), '--cpus-per-task') ?? DEFAULT_RESOURCES.cpusPerTask,
    memory: str('mem') ?? DEFAULT_RESOURCES.memory,
    time: str('time') ?? DEFAULT_RESOURCES.time,
    gpus: intOption(str('gpus'), '--gpus') ?? DEFAULT_RESOURCES.gpus,
    maxConcurrent:
      intOption(str('max-concurrent'), '--max-concurrent') ?? DEFAULT_RESOURCES.maxConcurrent,
    signalSeconds:
      intOption(str('signal-seconds'), '--signal-seconds') ?? DEFAULT_RESOURCES.signalSeconds,
    requeue: v['no-requeue'] !== true,
  });
}

/** This checkout's node and compiled CLI, by absolute path (what the compute nodes run). */
export function thisCli(): ClusterCli {
  const main = path.join(__dirname, 'main.js');
  if (!fs.existsSync(main))
    throw new ArtstyleError(
      'missing-build',
      `${main} does not exist: run \`npm run build\` first; the jobs call the compiled CLI`,
      main,
    );
  return { node: process.execPath, main };
}

export async function slurmMain(argv: string[]): Promise<number> {
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
        'dry-run': { type: 'boolean' },
        partition: { type: 'string' },
        'cpus-per-task': { type: 'string' },
        mem: { type: 'string' },
        time: { type: 'string' },
        gpus: { type: 'string' },
        'max-concurrent': { type: 'string' },
        'signal-seconds': { type: 'string' },
        'no-requeue': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`artstyle slurm: ${errorMessage(e)}\n\n${SLURM_USAGE}`);
    return 2;
  }
  const [sub, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    console.log(SLURM_USAGE);
    return 0;
  }
  const arity = sub === 'requeue' ? 1 : 0;
  if ((sub !== 'submit' && sub !== 'status' && sub !== 'requeue') || extra.length !== arity) {
    console.error(
      `artstyle slurm: expected submit, status or requeue UNIT, got ${JSON.stringify(parsed.positionals.join(' '))}\n\n${SLURM_USAGE}`,
    );
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
    const config = study1.studyConfig(params);
    if (sub === 'submit') {
      const resources = resourcesFromOptions(parsed.values);
      if (parsed.values['dry-run']) {
        console.log(dryRun(params, config, thisCli(), resources));
        return 0;
      }
      const s = submitStudy(params, config, thisCli(), resources);
      for (const j of s.jobs)
        console.log(
          `${j.name}: job ${j.jobId}${j.array ? ` (array of ${j.array.length}: ${j.array.join(' ')})` : ''}${j.dependency ? `, ${j.dependency}` : ''}`,
        );
      console.log(`scripts and logs: ${path.dirname(s.jobs[0]!.script)}`);
      return 0;
    }
    if (sub === 'requeue') {
      for (const line of requeueUnit(params, extra[0]!)) console.log(line);
      return 0;
    }
    const { units, notes, submission } = studyStatus(params, config);
    if (!submission)
      notes.push(`no submission recorded in ${params.outDir}; showing the folders only`);
    console.log(
      textTable(
        units.map((u) => ({ unit: u.unit, state: u.state, job: u.job ?? '-', detail: u.detail })),
        { caption: `Study units in ${params.outDir}` },
      ),
    );
    for (const n of notes) console.log(`note: ${n}`);
    return 0;
  } catch (e) {
    if (e instanceof ArtstyleError) {
      console.error(`artstyle slurm ${sub}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
