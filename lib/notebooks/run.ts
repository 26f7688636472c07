import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';

/** The ordered notebooks of the project: `notebooks/NN-name.ipynb`, in number order. */
export function listNotebooks(notebooksDir: string): string[] {
  if (!fs.existsSync(notebooksDir))
    throw new ArtstyleError(
      'missing-folder',
      `notebook folder ${notebooksDir} does not exist`,
      notebooksDir,
    );
  return fs
    .readdirSync(notebooksDir)
    .filter((f) => /^\d\d-[\w-]+\.ipynb$/.test(f))
    .sort()
    .map((f) => path.join(notebooksDir, f));
}

export interface ExecuteOptions {
  /** Folder for the executed notebook (and its HTML export). */
  outDir: string;
  /** Extra environment for the kernel: the notebooks read their parameters from it. */
  env?: NodeJS.ProcessEnv;
  /** Per-cell timeout in seconds; -1 for none. */
  cellTimeoutSeconds?: number;
  /** Also export the executed notebook as HTML (what GitHub-less readers open). */
  html?: boolean;
  /** Called with each line nbconvert prints. */
  onLine?: (line: string) => void;
}

export interface ExecutedNotebook {
  source: string;
  executed: string;
  html?: string;
  seconds: number;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  onLine?: (l: string) => void,
): Promise<{ code: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const take = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        onLine?.(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) =>
      reject(
        new ArtstyleError(
          'missing-tool',
          `cannot run ${cmd}: ${e.message}; run \`npm run setup\` first`,
          cmd,
          { cause: e },
        ),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, tail: lines.slice(-40).join('\n') }));
  });
}

/**
 * Executes one notebook with Jupyter (nbconvert, the tslab kernel) in the notebook's own folder, so
 * its `../dist/lib` imports resolve, and writes the executed copy atomically into `outDir`.
 */
export async function executeNotebook(
  notebook: string,
  options: ExecuteOptions,
): Promise<ExecutedNotebook> {
  const t0 = Date.now();
  const stem = path.basename(notebook, '.ipynb');
  fs.mkdirSync(options.outDir, { recursive: true });
  const partial = `.${stem}.partial`;
  const env = { ...process.env, ...options.env };
  const args = [
    'nbconvert',
    '--to',
    'notebook',
    '--execute',
    notebook,
    '--output-dir',
    options.outDir,
    '--output',
    partial,
    `--ExecutePreprocessor.timeout=${options.cellTimeoutSeconds ?? -1}`,
    // tslab reports a cell's exception as an empty error and prints the real one to stderr, so
    // the notebook is kept whole and the message is read from the failing cell's output.
    '--ExecutePreprocessor.allow_errors=True',
  ];
  // Everything nbconvert and the kernel print goes to <name>.log beside the executed notebook, so
  // a kernel that dies leaves its last words somewhere a user can read them.
  const logFile = path.join(options.outDir, `${stem}.log`);
  const log = fs.createWriteStream(logFile);
  const { code, tail } = await run('jupyter', args, env, path.dirname(notebook), (line) => {
    log.write(line + '\n');
    options.onLine?.(line);
  });
  await new Promise<void>((resolve) => log.end(resolve));
  const partialFile = path.join(options.outDir, `${partial}.ipynb`);
  if (code !== 0) {
    const kept = fs.existsSync(partialFile) ? ` (partial output kept in ${partialFile})` : '';
    const died = /DeadKernelError|Kernel died/.test(tail);
    throw new ArtstyleError(
      died ? 'kernel-died' : 'notebook-failed',
      `notebook ${stem} failed${kept}${died ? ': the kernel process died' : ''}; full output in ${logFile}:\n${tail.split('\n').slice(-12).join('\n')}`,
      notebook,
    );
  }
  const errors = notebookErrors(partialFile);
  if (errors.length) {
    const failed = path.join(options.outDir, `${stem}.failed.ipynb`);
    fs.renameSync(partialFile, failed);
    const first = errors[0] as { cell: string; error: string };
    throw new ArtstyleError(
      'notebook-failed',
      `notebook ${stem} failed in cell ${first.cell}: ${first.error}\n(the executed notebook with its outputs: ${failed})`,
      notebook,
    );
  }
  const executed = path.join(options.outDir, `${stem}.ipynb`);
  fs.renameSync(partialFile, executed);
  const result: ExecutedNotebook = {
    source: notebook,
    executed,
    seconds: (Date.now() - t0) / 1000,
  };
  if (options.html) {
    const h = await run(
      'jupyter',
      ['nbconvert', '--to', 'html', executed, '--output-dir', options.outDir],
      env,
      options.outDir,
      options.onLine,
    );
    if (h.code !== 0)
      throw new ArtstyleError(
        'html-export-failed',
        `HTML export of ${stem} failed:\n${h.tail}`,
        executed,
      );
    result.html = path.join(options.outDir, `${stem}.html`);
  }
  return result;
}

/**
 * `executeNotebook`, run once more when its kernel process dies (not when a cell fails): every
 * step of the studies resumes from its checkpoints, so the second run continues where the first
 * stopped. The first run's log is kept as `<name>.died.log`; `onRetry` hears about the retry.
 */
export async function executeNotebookResuming(
  notebook: string,
  options: ExecuteOptions,
  onRetry: (error: ArtstyleError, keptLog: string) => void = () => undefined,
): Promise<ExecutedNotebook> {
  try {
    return await executeNotebook(notebook, options);
  } catch (e) {
    if (!(e instanceof ArtstyleError && e.code === 'kernel-died')) throw e;
    const stem = path.basename(notebook, '.ipynb');
    const log = path.join(options.outDir, `${stem}.log`);
    const kept = path.join(options.outDir, `${stem}.died.log`);
    if (fs.existsSync(log)) fs.renameSync(log, kept);
    onRetry(e, kept);
    return executeNotebook(notebook, options);
  }
}

interface NotebookJson {
  cells: {
    cell_type: string;
    id?: string;
    outputs?: {
      output_type: string;
      ename?: string;
      evalue?: string;
      name?: string;
      text?: string | string[];
    }[];
  }[];
}

/**
 * A line of a cell's stderr that means the cell failed. tslab answers "ok" to Jupyter even when a
 * cell throws or does not compile, and only prints the error (Node's uncaught-error format, or
 * TypeScript diagnostics as `line:col - message`), so stderr is where failures show.
 */
const STDERR_FAILURE = /^(?:[A-Z][A-Za-z]*Error\b.*|\d+:\d+ - .*)$/m;

/**
 * The failed cells of an executed notebook (empty when every cell ran cleanly), each with its error
 * message: an error output's name and value, or the error tslab printed to the cell's stderr.
 * Warnings on stderr do not count.
 */
export function notebookErrors(executed: string): { cell: string; error: string }[] {
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as NotebookJson;
  const errors: { cell: string; error: string }[] = [];
  const join = (v: string | string[] | undefined): string =>
    Array.isArray(v) ? v.join('') : (v ?? '');
  nb.cells.forEach((cell, i) => {
    const outputs = cell.outputs ?? [];
    const failed = outputs.find((o) => o.output_type === 'error');
    const stderr = outputs
      .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
      .map((o) => join(o.text))
      .join('');
    const printed = stderr
      .split('\n')
      .filter((l) => STDERR_FAILURE.test(l))
      .slice(0, 8)
      .join('\n');
    if (!failed && !printed) return;
    const reported = failed
      ? `${failed.ename ?? ''}${failed.evalue ? `: ${failed.evalue}` : ''}`.replace(
          /^<Error>:?\s*$/,
          '',
        )
      : '';
    errors.push({ cell: cell.id ?? String(i), error: printed || reported || 'unknown error' });
  });
  return errors;
}

/** All text a notebook printed (stdout streams and text/plain or text/html outputs), for checks. */
export function notebookText(executed: string): string {
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as {
    cells: { outputs?: { text?: string | string[]; data?: Record<string, string | string[]> }[] }[];
  };
  const parts: string[] = [];
  const join = (v: string | string[] | undefined): string =>
    Array.isArray(v) ? v.join('') : (v ?? '');
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      parts.push(join(out.text));
      if (out.data) parts.push(join(out.data['text/plain']), join(out.data['text/html']));
    }
  }
  return parts.join('\n');
}
