import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { queueStates } from '../../lib/cluster/status';
import { readSubmission, studyStatus, type UnitStatus } from '../../lib/pipeline/cluster1';
import { projectRoot, resolveParams, type RunParams } from '../../lib/pipeline/params';
import * as study1 from '../../lib/pipeline/study1';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { tempDir } from '../tmp';

/**
 * The whole smoke-profile study on a real single-node Slurm cluster (scripts/slurm/cluster.sh):
 * submitted with at most 2 tasks at a time, one running member killed with
 * `scancel --signal=KILL` and requeued; the merged sweep summary, the chosen model's test report
 * and the weighted run must equal a sequential run of the CLI with the same seed, byte for byte
 * apart from timings (and the absolute folder in the test report). A member started while the
 * pretraining is unfinished is refused with a named error. The cluster is stopped even on failure.
 */

const ROOT = projectRoot();
const MAIN = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const CLUSTER = path.join(ROOT, 'scripts', 'slurm', 'cluster.sh');

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root: scripts/slurm/cluster.sh starts munged, slurmctld and slurmd (run npm test as root to include it)';
  if (process.platform !== 'linux') return 'a Slurm cluster from Debian packages needs Linux';
  return false;
}

interface Ran {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onOutput?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ARTSTYLE_PROGRESS: 'silent', ...env },
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      onOutput?.(out, child);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err, seconds: (Date.now() - t0) / 1000 }));
  });
}

function paramFlags(p: RunParams): string[] {
  return ['--profile', p.profile, '--seed', String(p.seed), '--out', p.outDir];
}

async function cli(p: RunParams, ...args: string[]): Promise<Ran> {
  const r = await run(process.execPath, [MAIN, ...args, ...paramFlags(p)]);
  if (r.code !== 0)
    throw new Error(`artstyle ${args.join(' ')} failed (${r.code}):\n${r.err}\n${r.out}`);
  return r;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** A JSON file's content without the fields that are timings or the run's own folder. */
function comparable(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'), (key, value: unknown) =>
    key === 'seconds' || key === 'runDir' ? undefined : value,
  );
}

function checkpointData(dir: string): Buffer {
  const ck = readCheckpoint(path.join(dir, 'checkpoint'));
  assert.ok(ck, `no checkpoint in ${dir}`);
  return ck.data;
}

test(
  'the smoke study on a real Slurm cluster equals a sequential run',
  { skip: skipReason(), timeout: 30 * 60_000 },
  async (t) => {
    const say = (s: string): void => t.diagnostic(s);
    const base = tempDir('artstyle-cluster-');
    const seq = resolveParams({
      profile: 'smoke',
      outDir: path.join(base, 'sequential'),
      seed: 42,
    });
    // A space in the shared folder: every path must survive sbatch's directives and the scripts.
    const clu = resolveParams({ profile: 'smoke', outDir: path.join(base, 'slurm run'), seed: 42 });
    const config = study1.studyConfig(clu);
    // The bundled data once, before two runs would both generate it.
    await cli(seq, 'data');

    const slurmDir = path.join(base, 'cluster-state');
    const clusterEnv = { ARTSTYLE_SLURM_DIR: slurmDir };
    const t0 = Date.now();
    const started = await run('bash', [CLUSTER, 'start'], clusterEnv);
    try {
      assert.equal(started.code, 0, `cluster start failed:\n${started.err}`);
      say(
        `cluster started in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${started.err.trim().split('\n').pop()}`,
      );

      // --- submit the study
      const tSubmit = Date.now();
      const submitted = await cli(
        clu,
        'slurm',
        'submit',
        '--cpus-per-task',
        '1',
        '--max-concurrent',
        '2',
        '--time',
        '30',
      );
      for (const line of submitted.out.trim().split('\n')) say(`submit: ${line}`);
      const submission = readSubmission(clu)!;
      assert.equal(submission.jobs.length, 4);
      const members = submission.jobs.find((j) => j.key === 'members')!;
      assert.match(fs.readFileSync(members.script, 'utf8'), /^#SBATCH --array=0-1%2$/m);

      // --- the sequential reference runs meanwhile, with the refusal of an early member on the way
      const seqFlow = (async () => {
        const ts = Date.now();
        await cli(seq, 'prepare');
        const pretrainCk = path.join(seq.outDir, 'pretrain', 'checkpoint', 'checkpoint.json');
        // Pretraining stopped by SIGTERM as soon as its first checkpoint (epoch 0) exists.
        let sent = false;
        const child = spawn(process.execPath, [MAIN, 'pretrain', ...paramFlags(seq)], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        while (!sent) {
          if (fs.existsSync(pretrainCk)) {
            child.kill('SIGTERM');
            sent = true;
          } else if (child.exitCode !== null) break;
          else await sleep(50);
        }
        const code = await exited;
        const ck = readCheckpoint(path.dirname(pretrainCk));
        assert.ok(sent && ck, `pretraining ended before its SIGTERM:\n${out}`);
        assert.equal(ck.manifest.epoch, 0, `stopped with epoch 0 of 1 checkpointed:\n${out}`);
        assert.equal(code, 1, 'the interrupted command exits with an error status');
        assert.match(out, /stopped by SIGTERM/);
        // A member now is refused: the pretraining it starts from is unfinished.
        const refused = await run(process.execPath, [
          MAIN,
          'sweep',
          '--member',
          '0',
          ...paramFlags(seq),
        ]);
        assert.equal(refused.code, 1, refused.err + refused.out);
        assert.match(refused.err, /stopped after 0 of 1 epochs; run it again to finish it/);
        await assert.rejects(
          async () => study1.sweepMemberStep(seq, config, study1.sculptureSources(seq, config), 0),
          (e: unknown) => (e as { code?: string }).code === 'unfinished-run',
        );
        assert.ok(
          !fs.existsSync(path.join(seq.outDir, 'sweep', 'block0', 'checkpoint')),
          'the refused member wrote nothing',
        );
        say(
          `sequential: a member before the pretraining finished was refused: ${refused.err.trim()}`,
        );
        await cli(seq, 'pretrain');
        await cli(seq, 'sweep');
        await cli(seq, 'weights');
        return (Date.now() - ts) / 1000;
      })();

      // --- the cluster run: kill a running member once it has checkpointed, requeue it, wait
      const clusterFlow = (async () => {
        let killed: string | null = null;
        let maxRunning = 0;
        const deadline = Date.now() + 25 * 60_000;
        let last = '';
        let units: UnitStatus[] = [];
        while (Date.now() < deadline) {
          const q = queueStates([members.jobId]);
          const running = q.rows.filter((r) => r.state === 'running');
          maxRunning = Math.max(maxRunning, running.length);
          if (!killed) {
            for (const r of running) {
              const blocks = submission.blocks[r.task!]!;
              if (
                fs.existsSync(
                  path.join(clu.outDir, 'sweep', `block${blocks}`, 'checkpoint', 'checkpoint.json'),
                )
              ) {
                const kill = spawnSync('scancel', ['--signal=KILL', `${r.jobId}_${r.task}`], {
                  encoding: 'utf8',
                });
                assert.equal(kill.status, 0, kill.stderr);
                killed = `block${blocks}`;
                say(
                  `killed ${killed} (array task ${r.jobId}_${r.task}) with scancel --signal=KILL`,
                );
                // Slurm now says it failed, and the merge waits for a dependency it calls never satisfied.
                let after: UnitStatus | undefined;
                for (let i = 0; i < 100; i++) {
                  await sleep(100);
                  after = studyStatus(clu, config).units.find((u) => u.unit === killed);
                  if (after?.state === 'failed') break;
                }
                say(`status after the kill: ${killed} ${after?.state} (${after?.detail})`);
                assert.equal(after?.state, 'failed');
                const requeued = await cli(clu, 'slurm', 'requeue', killed);
                for (const line of requeued.out.trim().split('\n')) say(`requeue: ${line}`);
                break;
              }
            }
          }
          units = studyStatus(clu, config).units;
          const line = units.map((u) => `${u.unit}=${u.state}`).join(' ');
          if (line !== last)
            say(`status at ${((Date.now() - tSubmit) / 1000).toFixed(0)} s: ${line}`);
          last = line;
          if (units.every((u) => u.state === 'done')) break;
          const stuck = units.find((u) => u.state === 'failed' && u.unit !== killed);
          if (stuck) break;
          await sleep(killed ? 1000 : 200);
        }
        return { killed, maxRunning, units, seconds: (Date.now() - tSubmit) / 1000 };
      })();

      const [seqSeconds, cl] = await Promise.all([seqFlow, clusterFlow]);
      // A unit is done when its results are written; its job may still be writing figures and
      // exiting. Wait for the queue to empty, so that nothing writes into the folder afterwards.
      for (let i = 0; i < 240; i++) {
        const q = spawnSync('squeue', ['--noheader', '--format=%i'], { encoding: 'utf8' });
        if (q.status === 0 && q.stdout.trim() === '') break;
        await sleep(500);
      }
      const logs = path.join(clu.outDir, 'slurm', 'logs');
      const notDone = cl.units.filter((u) => u.state !== 'done');
      if (notDone.length) {
        for (const f of fs.readdirSync(logs))
          say(`--- ${f}\n${fs.readFileSync(path.join(logs, f), 'utf8').slice(-3000)}`);
        assert.fail(
          `units not done: ${notDone.map((u) => `${u.unit} ${u.state} (${u.detail})`).join('; ')}`,
        );
      }
      assert.ok(cl.killed, 'a running member was killed');
      assert.ok(cl.maxRunning <= 2, `at most 2 member tasks at once (saw ${cl.maxRunning})`);
      const killedLog = fs
        .readdirSync(logs)
        .map((f) => fs.readFileSync(path.join(logs, f), 'utf8'))
        .find((text) => text.includes('CANCELLED') && text.includes('task '));
      assert.ok(killedLog, 'the killed task kept its log and appended the requeued attempt');
      assert.equal(killedLog!.match(/^task \d+: item/gm)?.length, 2, 'two attempts in one log');
      say(
        `slurm chain (submit to weighted done): ${cl.seconds.toFixed(0)} s; sequential CLI in the same time: ${seqSeconds.toFixed(0)} s (ratio ${(cl.seconds / seqSeconds).toFixed(2)}; 2 cores, both loaded by the two runs at once)`,
      );

      // --- bit-identical to the sequential run
      const sweepA = path.join(seq.outDir, 'sweep');
      const sweepB = path.join(clu.outDir, 'sweep');
      assert.deepEqual(
        comparable(path.join(sweepB, 'sweep-summary.json')),
        comparable(path.join(sweepA, 'sweep-summary.json')),
      );
      const best = readJson(path.join(sweepA, 'sweep-summary.json')).best as number;
      assert.deepEqual(
        comparable(path.join(sweepB, `block${best}`, 'test-report.json')),
        comparable(path.join(sweepA, `block${best}`, 'test-report.json')),
      );
      assert.deepEqual(
        comparable(path.join(clu.outDir, 'weighted', 'comparison.json')),
        comparable(path.join(seq.outDir, 'weighted', 'comparison.json')),
      );
      const runs = [
        'pretrain',
        ...config.sweep.blocks.map((n) => path.join('sweep', `block${n}`)),
        path.join('weighted', 'pretrain'),
        path.join('weighted', `block${best}`),
      ];
      for (const r of runs)
        assert.ok(
          checkpointData(path.join(clu.outDir, r)).equals(checkpointData(path.join(seq.outDir, r))),
          `${r}: weights and optimizer state`,
        );
      say(
        `identical: sweep summary (chose block${best}), its test report, the weighted comparison, and the checkpoints of ${runs.join(', ')}`,
      );
      // Notebook 03 on the cluster's folders: the pipeline call its cells make (sweepStep, then
      // sweepHistories) finds every member finished, retrains none, and makes the same choice.
      const memberFiles = config.sweep.blocks.map((n) =>
        path.join(sweepB, `block${n}`, 'checkpoint', 'checkpoint.json'),
      );
      const before = memberFiles.map((f) => fs.readFileSync(f));
      const nb = await study1.sweepStep(clu, config, study1.sculptureSources(clu, config), {
        log: null,
      });
      assert.equal(nb.status, 'completed');
      assert.equal(nb.selection?.best.blocks, best);
      assert.equal(study1.sweepHistories(clu, config).length, config.sweep.blocks.length);
      memberFiles.forEach((f, i) =>
        assert.ok(fs.readFileSync(f).equals(before[i]!), `${f} untouched`),
      );
      assert.deepEqual(
        comparable(path.join(sweepB, 'sweep-summary.json')),
        comparable(path.join(sweepA, 'sweep-summary.json')),
      );
      say(
        `notebook 03's sweepStep on the cluster folders: completed, chose block${best}, no member retrained`,
      );
      const keep = process.env['ARTSTYLE_CLUSTER_TEST_KEEP'];
      if (keep) {
        fs.cpSync(clu.outDir, keep, { recursive: true });
        say(`the cluster run's folder is kept in ${keep}`);
      }
      const status = await cli(clu, 'slurm', 'status');
      for (const line of status.out.trim().split('\n')) say(`status: ${line}`);
    } finally {
      const stopped = await run('bash', [CLUSTER, 'stop'], clusterEnv);
      say(`cluster stop: ${stopped.err.trim().split('\n').join('; ')}`);
      assert.equal(stopped.code, 0, stopped.err);
    }
  },
);
