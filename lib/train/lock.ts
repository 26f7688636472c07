import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { writeJsonAtomic } from '../util/fs';

/**
 * One run per output folder. Two runs writing the same checkpoints would corrupt each other's
 * resume state, so a run takes `<dir>/run.lock` (pid, hostname, start time) and refuses to start
 * while a live process holds it. A lock left by a crashed run (its pid is gone on this host) is
 * taken over with a message, so a SIGKILL never leaves a folder stuck.
 */
export const LOCK_FILE = 'run.lock';

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

export interface FolderLock {
  file: string;
  /** Removes the lock if it is still ours; safe to call twice. */
  release(): void;
}

const heldHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string') return v as LockInfo;
    return null;
  } catch {
    return null;
  }
}

/** An existing lock file: refused while its run may be alive, else taken over (with a note). */
function takeOverOrRefuse(
  dir: string,
  file: string,
  mine: LockInfo,
  log: ((line: string) => void) | null,
): void {
  const other = readLock(file);
  if (other && other.hostname !== mine.hostname) {
    throw new ArtstyleError(
      'folder-locked',
      `${dir} is locked by pid ${other.pid} on host ${other.hostname} since ${other.startedAt}; this host cannot tell whether that run is alive. If it is not, delete ${file} and start again`,
      file,
    );
  }
  if (other && other.pid !== process.pid && pidAlive(other.pid)) {
    throw new ArtstyleError(
      'folder-locked',
      `${dir} is in use by another run (pid ${other.pid}, started ${other.startedAt}); wait for it to finish, stop it, or use another output folder`,
      file,
    );
  }
  log?.(
    other
      ? `taking over the stale lock ${file} of pid ${other.pid} (started ${other.startedAt}), which is no longer running`
      : `taking over the unreadable lock file ${file} (left by a run killed while creating it)`,
  );
  writeJsonAtomic(file, mine);
}

export function acquireLock(
  dir: string,
  log: ((line: string) => void) | null = (l) => console.log(l),
): FolderLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(path.resolve(dir), LOCK_FILE);
  const mine: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
  };
  if (heldHere.has(file)) {
    throw new ArtstyleError(
      'folder-locked',
      `${dir} is already in use by another run in this same process (started earlier and not finished); wait for it or use another output folder`,
      file,
    );
  }
  let created = false;
  try {
    fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (!created) takeOverOrRefuse(dir, file, mine, log);
  heldHere.add(file);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(file);
      const current = readLock(file);
      if (current && current.pid === mine.pid && current.startedAt === mine.startedAt)
        fs.rmSync(file, { force: true });
    },
  };
}
