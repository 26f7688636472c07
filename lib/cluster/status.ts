import { ArtstyleError } from '../util/errors';
import { runSlurmCommand, type SlurmRunner } from './slurm';

/**
 * What Slurm says about submitted jobs: `squeue` for jobs the controller still holds (pending,
 * running, and for a few minutes after they end, their final state) and `sacct` for the history
 * where the cluster keeps accounting. Both are read in machine formats (`--noheader`, one `|`
 * separated line per job or array task; `sacct --parsable2`).
 */

export type QueueState = 'pending' | 'running' | 'completed' | 'failed';

export interface QueueRow {
  /** The job id (for an array task, the array's job id). */
  jobId: string;
  /** The array task id, or null for a job that is not an array. */
  task: number | null;
  /** Slurm's state name, e.g. RUNNING, PENDING, CANCELLED. */
  slurmState: string;
  state: QueueState;
  /** Why a pending job waits (Dependency, Resources, ...) or the exit code of a finished one. */
  detail: string;
}

const PENDING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD']);
const RUNNING = new Set([
  'RUNNING',
  'CONFIGURING',
  'COMPLETING',
  'SIGNALING',
  'STAGE_OUT',
  'RESIZING',
  'SUSPENDED',
  'STOPPED',
]);

/** Slurm's state name (sacct adds ` by <uid>` to CANCELLED) as one of four. */
export function classifyState(slurmState: string): QueueState {
  const s = slurmState.trim().split(/\s+/)[0]!.toUpperCase();
  if (PENDING.has(s)) return 'pending';
  if (RUNNING.has(s)) return 'running';
  if (s === 'COMPLETED') return 'completed';
  return 'failed';
}

/** `3`, `0-4`, `0-14%2`, `1,3,5-7` (the part inside `12_[...]`) as task ids. */
export function expandTaskList(list: string): number[] {
  const tasks: number[] = [];
  for (const part of list.split('%')[0]!.split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) throw new ArtstyleError('slurm-output', `cannot read the array task list ${list}`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let t = a; t <= b; t += step) tasks.push(t);
  }
  return tasks;
}

/** A job id as squeue and sacct print it (`12`, `12_3`, `12_[4-9%2]`) as (job, task) pairs. */
export function parseJobIdField(field: string): { jobId: string; task: number | null }[] {
  const m = /^(\d+)(?:_(\d+|\[[^\]]*\]))?(?:\+\d+)?$/.exec(field.trim());
  if (!m) return [];
  const jobId = m[1]!;
  if (m[2] === undefined) return [{ jobId, task: null }];
  if (!m[2].startsWith('[')) return [{ jobId, task: Number(m[2]) }];
  return expandTaskList(m[2].slice(1, -1)).map((task) => ({ jobId, task }));
}

/**
 * Rows of `squeue --noheader --format=%i|%T|%r` or `sacct --parsable2 --noheader
 * --format=JobID,State,ExitCode`: id, state, detail. Job steps (`12.batch`) are skipped.
 */
export function parseQueueLines(text: string): QueueRow[] {
  const rows: QueueRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [id = '', state = '', detail = ''] = line.split('|');
    if (id.includes('.')) continue;
    for (const { jobId, task } of parseJobIdField(id))
      rows.push({
        jobId,
        task,
        slurmState: state.trim(),
        state: classifyState(state),
        detail: detail.trim(),
      });
  }
  return rows;
}

export const SQUEUE_ARGS = ['--noheader', '--array', '--states=all', '--format=%i|%T|%r'];
export const SACCT_ARGS = [
  '--parsable2',
  '--noheader',
  '--allocations',
  '--format=JobID,State,ExitCode',
];

export interface QueueReport {
  rows: QueueRow[];
  /** Which sources answered, and why one did not (e.g. accounting disabled). */
  notes: string[];
}

/**
 * The states of the given jobs (and of their array tasks): squeue first (the live view), then
 * sacct for what squeue no longer shows. A cluster without accounting answers through squeue only.
 */
export function queueStates(jobIds: string[], run: SlurmRunner = runSlurmCommand): QueueReport {
  const wanted = new Set(jobIds);
  const notes: string[] = [];
  const key = (r: QueueRow): string => `${r.jobId}_${r.task ?? ''}`;
  const rows = new Map<string, QueueRow>();
  // All jobs rather than --jobs=<ids>: squeue fails on an id the controller has already forgotten.
  for (const r of parseQueueLines(run('squeue', SQUEUE_ARGS)))
    if (wanted.has(r.jobId)) rows.set(key(r), r);
  try {
    const text = run('sacct', [...SACCT_ARGS, `--jobs=${jobIds.join(',')}`]);
    for (const r of parseQueueLines(text))
      if (wanted.has(r.jobId) && !rows.has(key(r))) rows.set(key(r), r);
  } catch (e) {
    if (!(e instanceof ArtstyleError)) throw e;
    notes.push(`sacct gave no history (${e.message.split('\n')[0]}); states come from squeue only`);
  }
  return { rows: [...rows.values()], notes };
}

/** The row of one job, or of one array task of it. */
export function findRow(
  report: QueueReport,
  jobId: string,
  task: number | null = null,
): QueueRow | undefined {
  return report.rows.find((r) => r.jobId === jobId && r.task === task);
}
