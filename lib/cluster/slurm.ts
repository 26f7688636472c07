import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { writeFileAtomic } from '../util/fs';

/**
 * Slurm batch scripts for a chain of jobs, and their submission with `sbatch`. Generic: a job is
 * a name, the command lines it runs, optionally one array task per item, and the jobs it waits
 * for (`afterok`). What the jobs are (the study's units) is decided by the caller.
 *
 * Each script is self-contained (resources as `#SBATCH` lines, paths quoted), so a user can read
 * it, edit it and submit it again by hand. The last command of a script is `exec`'d: the batch
 * shell becomes that process, so the signal that `--signal=B:TERM@<seconds>` sends before the
 * time limit (and the SIGTERM of a preemption or `scancel`) reaches the training, which stops at
 * a batch boundary and exits; `--requeue` puts a preempted task back in the queue, and on its
 * next start it resumes from its checkpoint.
 */

export interface SlurmResources {
  /** `--partition`; null = the cluster's default partition. */
  partition: string | null;
  /** `--cpus-per-task`. */
  cpusPerTask: number;
  /** `--mem` per node, e.g. `8G`, `16000M`; null = the partition's default. */
  memory: string | null;
  /** `--time` limit, e.g. `90`, `4:00:00`, `1-12:00:00`; null = the partition's default. */
  time: string | null;
  /** GPUs per job as `--gres=gpu:<n>`; 0 = none. */
  gpus: number;
  /** `%K` of the array: at most this many tasks run at once; null = no cap. */
  maxConcurrent: number | null;
  /** `--signal=B:TERM@<seconds>`: SIGTERM this long before the time limit. */
  signalSeconds: number;
  /** `--requeue`: a preempted or failed-node task goes back into the queue. */
  requeue: boolean;
}

export const DEFAULT_RESOURCES: SlurmResources = {
  partition: null,
  cpusPerTask: 2,
  memory: null,
  time: null,
  gpus: 0,
  maxConcurrent: null,
  signalSeconds: 120,
  requeue: true,
};

/** In a command of an array job, replaced by the task's item (`items[$SLURM_ARRAY_TASK_ID]`). */
export const ARRAY_ITEM = '{item}';

export interface SlurmJob {
  /** Short identifier, also the end of the job name (`<prefix>-<key>`); letters, digits, `-`. */
  key: string;
  /** Command lines run one after another (each an argv); the last one is `exec`'d. */
  commands: string[][];
  /** One array task per item (`--array=0-<n-1>`); commands see the item as `ARRAY_ITEM`. */
  array?: string[];
  /** Keys of earlier jobs this one waits for (all of them finished successfully). */
  after?: string[];
}

export interface SlurmPlan {
  /** Job names are `<prefix>-<key>`. */
  prefix: string;
  /** Where the scripts are written; logs go to `<dir>/logs/`. */
  dir: string;
  jobs: SlurmJob[];
  /** Exported in every script before its commands. */
  env?: Record<string, string>;
}

function invalid(option: string, message: string): never {
  throw new ArtstyleError('invalid-slurm-option', `${option}: ${message}`, option);
}

const TIME_FORMS = [
  /^\d+$/, // minutes
  /^\d+:\d{1,2}$/, // minutes:seconds
  /^\d+:\d{1,2}:\d{1,2}$/, // hours:minutes:seconds
  /^\d+-\d+$/, // days-hours
  /^\d+-\d+:\d{1,2}$/, // days-hours:minutes
  /^\d+-\d+:\d{1,2}:\d{1,2}$/, // days-hours:minutes:seconds
];

/** Checks every resource and names the option at fault and what it accepts. */
export function validateResources(r: SlurmResources): SlurmResources {
  if (r.partition !== null && !/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(r.partition))
    invalid(
      '--partition',
      `${JSON.stringify(r.partition)} is not a partition name (letters, digits, _ . -)`,
    );
  if (!Number.isInteger(r.cpusPerTask) || r.cpusPerTask < 1 || r.cpusPerTask > 4096)
    invalid('--cpus-per-task', `expected an integer from 1 to 4096, got ${r.cpusPerTask}`);
  if (r.memory !== null && !/^[1-9]\d*[KMGT]?$/.test(r.memory))
    invalid('--mem', `${JSON.stringify(r.memory)} is not a size such as 8G, 16000M or 500000K`);
  if (r.time !== null && (!TIME_FORMS.some((f) => f.test(r.time!)) || /^0+$/.test(r.time)))
    invalid(
      '--time',
      `${JSON.stringify(r.time)} is not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)`,
    );
  if (!Number.isInteger(r.gpus) || r.gpus < 0 || r.gpus > 64)
    invalid('--gpus', `expected an integer from 0 to 64, got ${r.gpus}`);
  if (r.maxConcurrent !== null && (!Number.isInteger(r.maxConcurrent) || r.maxConcurrent < 1))
    invalid('--max-concurrent', `expected an integer >= 1, got ${r.maxConcurrent}`);
  if (!Number.isInteger(r.signalSeconds) || r.signalSeconds < 1 || r.signalSeconds > 65535)
    invalid('--signal-seconds', `expected an integer from 1 to 65535, got ${r.signalSeconds}`);
  return r;
}

/** A word for a POSIX shell, single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A path in an `#SBATCH` line: sbatch understands double quotes there, nothing else. */
function directivePath(p: string, option: string): string {
  if (/["\n\r\\]/.test(p))
    invalid(
      option,
      `the path ${JSON.stringify(p)} contains a character sbatch cannot take (" \\ or a newline)`,
    );
  return /\s/.test(p) ? `"${p}"` : p;
}

function checkPlan(plan: SlurmPlan): void {
  const keys = new Set<string>();
  plan.jobs.forEach((job, i) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(job.key))
      invalid(`jobs[${i}].key`, `${JSON.stringify(job.key)} is not a job key (letters, digits, -)`);
    if (keys.has(job.key)) invalid(`jobs[${i}].key`, `${job.key} appears twice`);
    if (!job.commands.length || job.commands.some((c) => !c.length))
      invalid(`jobs[${i}].commands`, 'expected at least one non-empty command');
    if (job.array && !job.array.length) invalid(`jobs[${i}].array`, 'expected at least one item');
    for (const a of job.after ?? [])
      if (!keys.has(a))
        invalid(`jobs[${i}].after`, `${JSON.stringify(a)} is not the key of an earlier job`);
    keys.add(job.key);
  });
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(plan.prefix))
    invalid('prefix', `${JSON.stringify(plan.prefix)} is not a job-name prefix`);
}

export function jobName(plan: SlurmPlan, job: SlurmJob): string {
  return `${plan.prefix}-${job.key}`;
}

export function scriptFile(plan: SlurmPlan, job: SlurmJob): string {
  return path.join(plan.dir, `${job.key}.sbatch`);
}

export function logDir(plan: SlurmPlan): string {
  return path.join(plan.dir, 'logs');
}

/** `--array=0-<n-1>[%K]`. */
export function arraySpec(items: number, maxConcurrent: number | null): string {
  return `0-${items - 1}${maxConcurrent !== null ? `%${maxConcurrent}` : ''}`;
}

function commandLine(argv: string[], array: boolean): string {
  return argv.map((w) => (array && w === ARRAY_ITEM ? '"$item"' : shellQuote(w))).join(' ');
}

/** The batch script of one job of the plan. */
export function renderScript(plan: SlurmPlan, job: SlurmJob, resources: SlurmResources): string {
  checkPlan(plan);
  validateResources(resources);
  const r = resources;
  const array = job.array !== undefined;
  const log = path.join(logDir(plan), array ? '%x-%A_%a.out' : '%x-%j.out');
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${jobName(plan, job)}`,
    `#SBATCH --output=${directivePath(log, '--out')}`,
    // A requeued task appends to its log, so the first attempt's lines stay readable.
    '#SBATCH --open-mode=append',
    `#SBATCH --cpus-per-task=${r.cpusPerTask}`,
  ];
  if (r.partition !== null) lines.push(`#SBATCH --partition=${r.partition}`);
  if (r.memory !== null) lines.push(`#SBATCH --mem=${r.memory}`);
  if (r.time !== null) lines.push(`#SBATCH --time=${r.time}`);
  if (r.gpus > 0) lines.push(`#SBATCH --gres=gpu:${r.gpus}`);
  if (array) lines.push(`#SBATCH --array=${arraySpec(job.array!.length, r.maxConcurrent)}`);
  lines.push(r.requeue ? '#SBATCH --requeue' : '#SBATCH --no-requeue');
  lines.push(`#SBATCH --signal=B:TERM@${r.signalSeconds}`);
  lines.push(
    '',
    `# ${jobName(plan, job)}: written by \`artstyle slurm submit\`; submit again with sbatch.`,
    'set -euo pipefail',
  );
  for (const [k, v] of Object.entries(plan.env ?? {})) lines.push(`export ${k}=${shellQuote(v)}`);
  if (array) {
    lines.push(
      `items=(${job.array!.map(shellQuote).join(' ')})`,
      'task=${SLURM_ARRAY_TASK_ID:?this script is an array job: submit it with sbatch}',
      'if [[ -z ${items[$task]+set} ]]; then',
      `  echo "array task $task has no item (the array has \${#items[@]}: 0-$((\${#items[@]} - 1)))" >&2`,
      '  exit 2',
      'fi',
      'item=${items[$task]}',
      'echo "task $task: item $item"',
    );
  }
  job.commands.forEach((argv, i) => {
    const last = i === job.commands.length - 1;
    lines.push(`${last ? 'exec ' : ''}${commandLine(argv, array)}`);
  });
  return lines.join('\n') + '\n';
}

/**
 * The `sbatch` arguments of one job that waits for the given job ids. An array is waited for task
 * by task (`afterok:<id>_0:<id>_1:...`), not as `afterok:<id>`: Slurm marks a whole-array
 * dependency failed for good once any task fails, even after that task is requeued and succeeds,
 * while a per-task dependency can be re-armed (`scontrol update JobId=... Dependency=...`).
 */
export function sbatchArgs(script: string, dependency: string | null): string[] {
  return ['--parsable', ...(dependency ? [`--dependency=${dependency}`] : []), script];
}

/** `afterok:` on every job id, and on every task of an array job. */
export function afterOk(jobs: { jobId: string; array: string[] | null }[]): string | null {
  const ids = jobs.flatMap((j) => (j.array ? j.array.map((_, i) => `${j.jobId}_${i}`) : [j.jobId]));
  return ids.length ? `afterok:${ids.join(':')}` : null;
}

export interface SubmittedJob {
  key: string;
  name: string;
  jobId: string;
  script: string;
  array: string[] | null;
  /** The `--dependency` it was submitted with (what a requeue re-arms), or null. */
  dependency: string | null;
}

/** Runs a Slurm command; errors name the command and give its output. */
export type SlurmRunner = (command: string, args: string[]) => string;

export const runSlurmCommand: SlurmRunner = (command, args) => {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ArtstyleError(
      missing ? 'slurm-missing' : 'slurm-command-failed',
      missing
        ? `${command} is not installed or not on PATH: run this on a Slurm login node (or start the test cluster, scripts/slurm/cluster.sh start)`
        : `${command} ${args.join(' ')}: ${r.error.message}`,
      command,
      { cause: r.error },
    );
  }
  if (r.status !== 0)
    throw new ArtstyleError(
      'slurm-command-failed',
      `${command} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`,
      command,
    );
  return r.stdout;
};

/** The job id from `sbatch --parsable` (`<id>` or `<id>;<cluster>`). */
export function parseJobId(stdout: string): string {
  const line = stdout.trim().split('\n').pop() ?? '';
  const m = /^(\d+)(;\S+)?$/.exec(line.trim());
  if (!m)
    throw new ArtstyleError(
      'slurm-command-failed',
      `sbatch --parsable printed ${JSON.stringify(stdout.trim())}, not a job id`,
      'sbatch',
    );
  return m[1]!;
}

/** Every job's script, in order (what `--dry-run` prints). */
export function renderPlan(
  plan: SlurmPlan,
  resources: SlurmResources,
): { job: SlurmJob; file: string; text: string }[] {
  return plan.jobs.map((job) => ({
    job,
    file: scriptFile(plan, job),
    text: renderScript(plan, job, resources),
  }));
}

/**
 * Writes the scripts and submits them in order, each with `--dependency=afterok:` on the job ids
 * sbatch returned for the jobs it waits for.
 */
export function submitPlan(
  plan: SlurmPlan,
  resources: SlurmResources,
  run: SlurmRunner = runSlurmCommand,
): SubmittedJob[] {
  const rendered = renderPlan(plan, resources);
  // Slurm does not create the log folder; a job whose --output folder is missing fails at start.
  fs.mkdirSync(logDir(plan), { recursive: true });
  const submitted: SubmittedJob[] = [];
  for (const { job, file, text } of rendered) {
    writeFileAtomic(file, text);
    const dependency = afterOk((job.after ?? []).map((k) => submitted.find((s) => s.key === k)!));
    const jobId = parseJobId(run('sbatch', sbatchArgs(file, dependency)));
    submitted.push({
      key: job.key,
      name: jobName(plan, job),
      jobId,
      script: file,
      array: job.array ?? null,
      dependency,
    });
  }
  return submitted;
}

/**
 * Puts a finished, failed or killed job (or array task, `<id>_<task>`) back into the queue now:
 * `scontrol requeue`, then `StartTime=now` (a requeued job otherwise waits about two minutes).
 */
export function requeueJob(job: string, run: SlurmRunner = runSlurmCommand): void {
  run('scontrol', ['requeue', job]);
  run('scontrol', ['update', `JobId=${job}`, 'StartTime=now']);
}

/** Sets a pending job's dependency again (Slurm does not re-check one it has marked failed). */
export function rearmDependency(
  jobId: string,
  dependency: string,
  run: SlurmRunner = runSlurmCommand,
): void {
  run('scontrol', ['update', `JobId=${jobId}`, `Dependency=${dependency}`]);
}
