import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StudyConfig } from '../config/profiles';
import {
  ARRAY_ITEM,
  rearmDependency,
  renderPlan,
  requeueJob,
  shellQuote,
  submitPlan,
  type SlurmPlan,
  type SlurmResources,
  type SlurmRunner,
  type SubmittedJob,
} from '../cluster/slurm';
import { findRow, queueStates, type QueueReport } from '../cluster/status';
import { readCheckpoint } from '../train/checkpoint';
import { blockDirName } from '../train/sweep';
import { ArtstyleError } from '../util/errors';
import { readJson, writeJsonAtomic } from '../util/fs';
import { stepDir, type RunParams } from './params';

/**
 * The first study as Slurm jobs. Its units, each a CLI command that writes only its own folder and
 * resumes from its own checkpoint:
 *
 *   pretrain  `artstyle prepare` + `artstyle pretrain`                 -> prepare/, pretrain/
 *   members   an array, task i: `artstyle sweep --member <blocks[i]>` -> sweep/block<N>/
 *   merge     `artstyle sweep --merge` (selection + test evaluation)   -> sweep/sweep-summary.json
 *   weighted  `artstyle weights` (class-weighted pair + comparison)    -> weighted/
 *
 * each waiting for the one before it (the merge for every task of the array). The folders are the
 * same as a run on one machine, so the notebooks read a cluster run's results unchanged.
 */

export const SLURM_DIR = 'slurm';
export const SUBMISSION_FILE = 'submission.json';
export const UNITS = ['pretrain', 'members', 'merge', 'weighted'] as const;

export interface ClusterCli {
  /** Absolute path of the node binary on the compute nodes (a checkout's `process.execPath`). */
  node: string;
  /** Absolute path of the compiled CLI, `dist/lib/cli/main.js`. */
  main: string;
}

export function slurmDir(params: RunParams): string {
  return path.join(params.outDir, SLURM_DIR);
}

/** The parameters every unit gets, so all of them read and write the same run. */
export function paramArgs(params: RunParams): string[] {
  return [
    '--profile',
    params.profile,
    '--sculptures',
    params.sculpturesDir,
    '--paintings',
    params.paintingsDir,
    '--seed',
    String(params.seed),
    '--out',
    params.outDir,
  ];
}

/** The study's four jobs for the run's parameters and its profile's frozen-block counts. */
export function studyPlan(params: RunParams, config: StudyConfig, cli: ClusterCli): SlurmPlan {
  for (const [what, p] of [
    ['node', cli.node],
    ['main', cli.main],
  ] as const)
    if (!path.isAbsolute(p))
      throw new ArtstyleError(
        'invalid-argument',
        `${what}: the compute nodes need an absolute path, got ${p}`,
        what,
      );
  const cmd = (...args: string[]): string[] => [cli.node, cli.main, ...args, ...paramArgs(params)];
  return {
    prefix: 'artstyle',
    dir: slurmDir(params),
    env: { ARTSTYLE_PROGRESS: 'lines' },
    jobs: [
      { key: 'pretrain', commands: [cmd('prepare'), cmd('pretrain')] },
      {
        key: 'members',
        commands: [cmd('sweep', '--member', ARRAY_ITEM)],
        array: config.sweep.blocks.map(String),
        after: ['pretrain'],
      },
      { key: 'merge', commands: [cmd('sweep', '--merge')], after: ['members'] },
      { key: 'weighted', commands: [cmd('weights')], after: ['merge'] },
    ],
  };
}

export interface Submission {
  submittedAt: string;
  params: RunParams;
  blocks: number[];
  jobs: SubmittedJob[];
}

function submissionFile(params: RunParams): string {
  return path.join(slurmDir(params), SUBMISSION_FILE);
}

export function readSubmission(params: RunParams): Submission | null {
  const file = submissionFile(params);
  return fs.existsSync(file) ? readJson<Submission>(file) : null;
}

/** The scripts `submit` would write, without submitting (`--dry-run`). */
export function dryRun(
  params: RunParams,
  config: StudyConfig,
  cli: ClusterCli,
  resources: SlurmResources,
): string {
  const plan = studyPlan(params, config, cli);
  const parts = renderPlan(plan, resources).map(({ job, file, text }) => {
    const deps = (job.after ?? []).map((k) => {
      const after = plan.jobs.find((j) => j.key === k)!;
      const id = `$${k.toUpperCase()}_JOB`;
      return after.array ? after.array.map((_, i) => `${id}_${i}`).join(':') : id;
    });
    const submit = `sbatch --parsable${deps.length ? ` --dependency=afterok:${deps.join(':')}` : ''} ${shellQuote(file)}`;
    return `# ---- ${file}\n# submitted as: ${job.key.toUpperCase()}_JOB=$(${submit})\n${text}`;
  });
  return parts.join('\n');
}

/**
 * Submits the study. Refuses while an earlier submission into the same output folder still has
 * jobs pending or running (two chains would train into the same folders; the unit locks would
 * make one of them fail, but not before it waited in the queue).
 */
export function submitStudy(
  params: RunParams,
  config: StudyConfig,
  cli: ClusterCli,
  resources: SlurmResources,
  run?: SlurmRunner,
): Submission {
  const earlier = readSubmission(params);
  if (earlier) {
    const queue = queueStates(
      earlier.jobs.map((j) => j.jobId),
      run,
    );
    const live = queue.rows.filter((r) => r.state === 'pending' || r.state === 'running');
    if (live.length)
      throw new ArtstyleError(
        'already-submitted',
        `${params.outDir} already has a submitted study with ${live.length} job(s) pending or running (${[...new Set(live.map((r) => r.jobId))].join(', ')}); wait for them, cancel them (scancel), or use another --out`,
        submissionFile(params),
      );
  }
  const plan = studyPlan(params, config, cli);
  const jobs = submitPlan(plan, resources, run);
  const submission: Submission = {
    submittedAt: new Date().toISOString(),
    params,
    blocks: config.sweep.blocks,
    jobs,
  };
  writeJsonAtomic(submissionFile(params), submission);
  return submission;
}

export type UnitState = 'done' | 'running' | 'pending' | 'failed' | 'not submitted';

export interface UnitStatus {
  /** `pretrain`, `block<N>`, `merge`, `weighted`. */
  unit: string;
  state: UnitState;
  /** Slurm's job id (`<array>_<task>` for a member), or null. */
  job: string | null;
  /** What the folder says (epochs checkpointed) and what Slurm says (state, reason). */
  detail: string;
  folder: string;
}

interface FolderState {
  finished: boolean;
  detail: string;
}

function checkpointState(runDir: string): FolderState {
  const ck = readCheckpoint(path.join(runDir, 'checkpoint'));
  if (!ck) return { finished: false, detail: 'no checkpoint' };
  const { epoch, targetEpochs } = ck.manifest;
  return {
    finished: epoch > 0 && epoch >= targetEpochs,
    detail: `checkpoint: epoch ${epoch} of ${targetEpochs}`,
  };
}

function fileState(file: string, what: string): FolderState {
  return fs.existsSync(file)
    ? { finished: true, detail: `${what} written` }
    : { finished: false, detail: `no ${what}` };
}

function mergeState(params: RunParams): FolderState {
  const summary = path.join(stepDir(params, 'sweep'), 'sweep-summary.json');
  if (!fs.existsSync(summary)) return { finished: false, detail: 'no sweep summary' };
  const best = readJson<{ best?: unknown }>(summary).best;
  if (typeof best !== 'number')
    return { finished: false, detail: 'sweep summary without a choice' };
  return fs.existsSync(path.join(stepDir(params, 'sweep'), blockDirName(best), 'test-report.json'))
    ? { finished: true, detail: `chose ${blockDirName(best)}, test report written` }
    : { finished: false, detail: `chose ${blockDirName(best)}, no test report yet` };
}

function combine(
  unit: string,
  folder: string,
  fromFolder: FolderState,
  queue: QueueReport | null,
  jobId: string | null,
  task: number | null,
): UnitStatus {
  const job = jobId === null ? null : task === null ? jobId : `${jobId}_${task}`;
  const row = jobId === null || queue === null ? undefined : findRow(queue, jobId, task);
  const slurm = row ? `slurm: ${row.slurmState}${row.detail ? ` (${row.detail})` : ''}` : '';
  const detail = [fromFolder.detail, slurm].filter(Boolean).join('; ');
  let state: UnitState;
  if (fromFolder.finished) state = 'done';
  else if (jobId === null) state = 'not submitted';
  else if (!row) state = 'failed';
  else if (row.state === 'completed') state = 'failed';
  else state = row.state;
  return {
    unit,
    state,
    job,
    detail:
      !row && jobId !== null && !fromFolder.finished
        ? `${detail}; not in the queue any more`
        : detail,
    folder,
  };
}

/** Each unit's state from its folder (finished checkpoints and outputs) and from squeue/sacct. */
export function studyStatus(
  params: RunParams,
  config: StudyConfig,
  run?: SlurmRunner,
): { units: UnitStatus[]; notes: string[]; submission: Submission | null } {
  const submission = readSubmission(params);
  const ids = Object.fromEntries((submission?.jobs ?? []).map((j) => [j.key, j.jobId]));
  const queue = submission ? queueStates(Object.values(ids), run) : null;
  const blocks = submission?.blocks ?? config.sweep.blocks;
  const sweep = stepDir(params, 'sweep');
  const units: UnitStatus[] = [
    combine(
      'pretrain',
      stepDir(params, 'pretrain'),
      checkpointState(stepDir(params, 'pretrain')),
      queue,
      ids['pretrain'] ?? null,
      null,
    ),
    ...blocks.map((n, i) =>
      combine(
        blockDirName(n),
        path.join(sweep, blockDirName(n)),
        checkpointState(path.join(sweep, blockDirName(n))),
        queue,
        ids['members'] ?? null,
        i,
      ),
    ),
    combine('merge', sweep, mergeState(params), queue, ids['merge'] ?? null, null),
    combine(
      'weighted',
      stepDir(params, 'weighted'),
      fileState(path.join(stepDir(params, 'weighted'), 'comparison.json'), 'comparison'),
      queue,
      ids['weighted'] ?? null,
      null,
    ),
  ];
  return { units, notes: queue?.notes ?? [], submission };
}

/** The Slurm job id of a unit (`pretrain`, `block<N>`, `merge`, `weighted`) of a submission. */
export function unitJob(submission: Submission, unit: string): { index: number; id: string } {
  const member = /^block(\d+)$/.exec(unit);
  const key = member ? 'members' : unit;
  const index = submission.jobs.findIndex((j) => j.key === key);
  const job = submission.jobs[index];
  const names = ['pretrain', ...submission.blocks.map(blockDirName), 'merge', 'weighted'];
  if (!job || (member && !submission.blocks.includes(Number(member[1]))))
    throw new ArtstyleError(
      'unknown-unit',
      `${JSON.stringify(unit)} is not a unit of this study; choose one of ${names.join(', ')}`,
      unit,
    );
  return {
    index,
    id: member ? `${job.jobId}_${submission.blocks.indexOf(Number(member[1]))}` : job.jobId,
  };
}

/**
 * Requeues one unit's job (a killed or failed member, say) and re-arms the dependencies of the
 * jobs after it that are still pending, so the chain goes on once the unit succeeds. The unit
 * resumes from its checkpoint. Returns what it did, one line per Slurm command.
 */
export function requeueUnit(params: RunParams, unit: string, run?: SlurmRunner): string[] {
  const submission = readSubmission(params);
  if (!submission)
    throw new ArtstyleError(
      'not-submitted',
      `no submission recorded in ${params.outDir} (${submissionFile(params)}): run \`artstyle slurm submit\` first`,
      submissionFile(params),
    );
  const { index, id } = unitJob(submission, unit);
  requeueJob(id, run);
  const done = [`requeued ${unit} (job ${id})`];
  const later = submission.jobs.slice(index + 1);
  const queue = queueStates(
    later.map((j) => j.jobId),
    run,
  );
  for (const j of later) {
    const pending = queue.rows.some((r) => r.jobId === j.jobId && r.state === 'pending');
    if (pending && j.dependency) {
      rearmDependency(j.jobId, j.dependency, run);
      done.push(`re-armed ${j.name} (job ${j.jobId}): --dependency=${j.dependency}`);
    }
  }
  return done;
}
