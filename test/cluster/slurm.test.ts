import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ARRAY_ITEM,
  afterOk,
  DEFAULT_RESOURCES,
  arraySpec,
  parseJobId,
  renderScript,
  sbatchArgs,
  shellQuote,
  validateResources,
  type SlurmPlan,
  type SlurmResources,
} from '../../lib/cluster/slurm';
import {
  classifyState,
  expandTaskList,
  parseJobIdField,
  parseQueueLines,
  queueStates,
} from '../../lib/cluster/status';
import { resourcesFromOptions } from '../../lib/cli/slurm';
import { resolveConfig } from '../../lib/config/profiles';
import {
  dryRun,
  paramArgs,
  requeueUnit,
  studyPlan,
  studyStatus,
  submitStudy,
} from '../../lib/pipeline/cluster1';
import { resolveParams } from '../../lib/pipeline/params';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir } from '../tmp';

const R = (over: Partial<SlurmResources> = {}): SlurmResources => ({
  ...DEFAULT_RESOURCES,
  ...over,
});

function studyIn(outDir: string) {
  const params = resolveParams({
    profile: 'teaching',
    outDir,
    sculpturesDir: path.join(outDir, 'my sculptures'),
    paintingsDir: path.join(outDir, "painter's set"),
    seed: 7,
  });
  // Four members keep the expected scripts short; the mechanics do not depend on how many.
  return { params, config: resolveConfig('teaching', { sweep: { blocks: [0, 3, 8, 14] } }) };
}

const CLI = { node: '/opt/node 20/bin/node', main: '/home/me/art lab/dist/lib/cli/main.js' };

function namedError(code: string, subject?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof ArtstyleError, String(e));
    assert.equal(e.code, code, e.message);
    if (subject !== undefined) assert.equal(e.subject, subject, e.message);
    return true;
  };
}

describe('sbatch scripts of the study', () => {
  const dir = tempDir('artstyle-slurm-');
  const { params, config } = studyIn(path.join(dir, 'run with spaces'));
  const plan = studyPlan(params, config, CLI);

  it('chains pretrain -> members array -> merge -> weighted', () => {
    assert.deepEqual(
      plan.jobs.map((j) => [j.key, j.after ?? []]),
      [
        ['pretrain', []],
        ['members', ['pretrain']],
        ['merge', ['members']],
        ['weighted', ['merge']],
      ],
    );
    assert.deepEqual(plan.jobs[1]!.array, ['0', '3', '8', '14'], "the configuration's blocks");
    assert.deepEqual(
      plan.jobs[0]!.commands.map((c) => c[2]),
      ['prepare', 'pretrain'],
    );
    assert.deepEqual(plan.jobs[1]!.commands[0]!.slice(2, 5), ['sweep', '--member', ARRAY_ITEM]);
    assert.deepEqual(plan.jobs[2]!.commands[0]!.slice(2, 4), ['sweep', '--merge']);
    for (const j of plan.jobs)
      for (const c of j.commands) assert.deepEqual(c.slice(-10), paramArgs(params));
  });

  it('the array spec maps task ids onto the block list and caps concurrency', () => {
    assert.equal(arraySpec(15, null), '0-14');
    assert.equal(arraySpec(15, 3), '0-14%3');
    const text = renderScript(plan, plan.jobs[1]!, R({ maxConcurrent: 2 }));
    assert.match(text, /^#SBATCH --array=0-3%2$/m);
    assert.match(text, /^items=\(0 3 8 14\)$/m);
    assert.match(text, /^exec .* sweep --member "\$item" /m);
    assert.match(text, /^#SBATCH --output=".*\/slurm\/logs\/%x-%A_%a\.out"$/m, 'per-task logs');
    const single = renderScript(plan, plan.jobs[0]!, R());
    assert.match(single, /^#SBATCH --output=".*\/logs\/%x-%j\.out"$/m);
    assert.doesNotMatch(single, /--array/);
  });

  it('resources become #SBATCH lines; defaults leave the partition to the cluster', () => {
    const full = renderScript(
      plan,
      plan.jobs[0]!,
      R({
        partition: 'gpu',
        cpusPerTask: 8,
        memory: '32G',
        time: '1-12:00:00',
        gpus: 1,
        signalSeconds: 300,
      }),
    );
    for (const line of [
      '#SBATCH --job-name=artstyle-pretrain',
      '#SBATCH --partition=gpu',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --mem=32G',
      '#SBATCH --time=1-12:00:00',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --requeue',
      '#SBATCH --signal=B:TERM@300',
      '#SBATCH --open-mode=append',
    ])
      assert.ok(full.split('\n').includes(line), `${line} in\n${full}`);
    const plain = renderScript(plan, plan.jobs[0]!, R({ requeue: false }));
    assert.doesNotMatch(plain, /--partition|--mem|--time|--gres/);
    assert.match(plain, /^#SBATCH --no-requeue$/m);
    assert.match(plain, /^#SBATCH --cpus-per-task=2$/m);
  });

  it("the last command is exec'd so the batch signal reaches the training", () => {
    const text = renderScript(plan, plan.jobs[0]!, R());
    const cmds = text.split('\n').filter((l) => l.includes('main.js'));
    assert.equal(cmds.length, 2);
    assert.ok(!cmds[0]!.startsWith('exec ') && cmds[0]!.includes(' prepare '));
    assert.ok(cmds[1]!.startsWith('exec ') && cmds[1]!.includes(' pretrain '));
  });

  it('paths with spaces and quotes reach the command intact (the script run by bash)', () => {
    // The "CLI" prints the words it was given, so a path split or joined wrongly shows.
    const main = path.join(dir, "the cli's folder", 'argv.js');
    fs.mkdirSync(path.dirname(main), { recursive: true });
    fs.writeFileSync(main, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const p = studyPlan(params, config, { node: process.execPath, main });
    for (const [job, task, words] of [
      [p.jobs[0]!, null, ['pretrain']],
      [p.jobs[1]!, '2', ['sweep', '--member', '8']],
    ] as const) {
      const text = renderScript(p, job, R());
      const file = path.join(dir, `${job.key}.sh`);
      fs.writeFileSync(file, text);
      const r = spawnSync('bash', [file], {
        encoding: 'utf8',
        env: { ...process.env, ...(task !== null ? { SLURM_ARRAY_TASK_ID: task } : {}) },
      });
      assert.equal(r.status, 0, r.stderr);
      const last = r.stdout.trim().split('\n').pop()!;
      assert.deepEqual(JSON.parse(last), [...words, ...paramArgs(params)]);
    }
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('/plain/path-1.js'), '/plain/path-1.js');
    assert.equal(shellQuote(''), "''");
  });

  it('an array task outside the item list exits with a message', () => {
    const p = studyPlan(params, config, { node: '/bin/echo', main: CLI.main });
    const file = path.join(dir, 'bad-task.sh');
    fs.writeFileSync(file, renderScript(p, p.jobs[1]!, R()));
    const r = spawnSync('bash', [file], {
      encoding: 'utf8',
      env: { ...process.env, SLURM_ARRAY_TASK_ID: '4' },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /array task 4 has no item \(the array has 4: 0-3\)/);
  });

  it('every generated script is valid bash', () => {
    for (const job of plan.jobs) {
      const file = path.join(dir, `syntax-${job.key}.sh`);
      fs.writeFileSync(file, renderScript(plan, job, R({ maxConcurrent: 2, time: '30' })));
      const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  it('submission chains afterok dependencies from the ids sbatch returned', () => {
    const calls: string[][] = [];
    let next = 100;
    const fake = (command: string, args: string[]): string => {
      calls.push([command, ...args]);
      return `${next++};cluster\n`;
    };
    const out = tempDir('artstyle-slurm-submit-');
    const s = studyIn(path.join(out, 'a run'));
    const sub = submitStudy(s.params, s.config, CLI, R(), fake);
    assert.deepEqual(
      calls.map((c) => c.slice(0, -1)),
      [
        ['sbatch', '--parsable'],
        ['sbatch', '--parsable', '--dependency=afterok:100'],
        // The merge waits for each task of the array (a requeued task can be waited for again).
        ['sbatch', '--parsable', '--dependency=afterok:101_0:101_1:101_2:101_3'],
        ['sbatch', '--parsable', '--dependency=afterok:102'],
      ],
    );
    assert.deepEqual(
      sub.jobs.map((j) => j.jobId),
      ['100', '101', '102', '103'],
    );
    for (const j of sub.jobs) assert.ok(fs.existsSync(j.script), j.script);
    assert.ok(
      fs.existsSync(path.join(out, 'a run', 'slurm', 'logs')),
      'log folder made before submission',
    );
    // A second submission into the same folder is refused while the first has live jobs.
    const busy = (command: string): string =>
      command === 'squeue' ? '101_2|RUNNING|None\n103|PENDING|Dependency\n' : '';
    assert.throws(
      () => submitStudy(s.params, s.config, CLI, R(), busy),
      namedError('already-submitted'),
    );
    // ... and the status names each unit's job.
    const st = studyStatus(s.params, s.config, busy);
    assert.deepEqual(
      st.units.map((u) => [u.unit, u.state, u.job]),
      [
        ['pretrain', 'failed', '100'],
        ['block0', 'failed', '101_0'],
        ['block3', 'failed', '101_1'],
        ['block8', 'running', '101_2'],
        ['block14', 'failed', '101_3'],
        ['merge', 'failed', '102'],
        ['weighted', 'pending', '103'],
      ],
    );
    // Requeueing a member puts its task back and re-arms the pending jobs after it.
    const scontrol: string[][] = [];
    const afterKill = (command: string, args: string[]): string => {
      if (command === 'scontrol') scontrol.push(args);
      return command === 'squeue'
        ? '101_3|CANCELLED|None\n102|PENDING|DependencyNeverSatisfied\n103|PENDING|Dependency\n'
        : '';
    };
    const done = requeueUnit(s.params, 'block14', afterKill);
    assert.deepEqual(scontrol, [
      ['requeue', '101_3'],
      ['update', 'JobId=101_3', 'StartTime=now'],
      ['update', 'JobId=102', 'Dependency=afterok:101_0:101_1:101_2:101_3'],
      ['update', 'JobId=103', 'Dependency=afterok:102'],
    ]);
    assert.equal(done.length, 3);
    assert.throws(() => requeueUnit(s.params, 'block5', afterKill), namedError('unknown-unit'));
    assert.throws(
      () => requeueUnit(studyIn(path.join(out, 'other')).params, 'merge', afterKill),
      namedError('not-submitted'),
    );
  });

  it('the dry run prints every script and its sbatch line, and submits nothing', () => {
    const text = dryRun(params, config, CLI, R({ maxConcurrent: 2 }));
    assert.equal(text.match(/^#!\/bin\/bash$/gm)?.length, 4);
    assert.match(text, /MEMBERS_JOB=\$\(sbatch --parsable --dependency=afterok:\$PRETRAIN_JOB /);
    assert.match(
      text,
      /MERGE_JOB=\$\(sbatch --parsable --dependency=afterok:\$MEMBERS_JOB_0:\$MEMBERS_JOB_1:\$MEMBERS_JOB_2:\$MEMBERS_JOB_3 /,
    );
    assert.ok(!fs.existsSync(path.join(params.outDir, 'slurm')), 'nothing written');
  });

  it('sbatch arguments and its --parsable output', () => {
    assert.deepEqual(sbatchArgs('/s/a.sbatch', null), ['--parsable', '/s/a.sbatch']);
    assert.deepEqual(sbatchArgs('/s/a.sbatch', 'afterok:5:6'), [
      '--parsable',
      '--dependency=afterok:5:6',
      '/s/a.sbatch',
    ]);
    assert.equal(
      afterOk([
        { jobId: '5', array: null },
        { jobId: '6', array: ['0', '14'] },
      ]),
      'afterok:5:6_0:6_1',
    );
    assert.equal(afterOk([]), null);
    assert.equal(parseJobId('1234\n'), '1234');
    assert.equal(parseJobId('1234;hpc\n'), '1234');
    assert.throws(
      () => parseJobId('sbatch: error: Batch job submission failed'),
      namedError('slurm-command-failed'),
    );
  });
});

describe('resource options', () => {
  it('are validated with errors that name the option', () => {
    const cases: [Partial<SlurmResources>, string][] = [
      [{ cpusPerTask: 0 }, '--cpus-per-task'],
      [{ cpusPerTask: 1.5 }, '--cpus-per-task'],
      [{ memory: '8 GB' }, '--mem'],
      [{ memory: '0G' }, '--mem'],
      [{ time: '25 hours' }, '--time'],
      [{ time: '0' }, '--time'],
      [{ gpus: -1 }, '--gpus'],
      [{ maxConcurrent: 0 }, '--max-concurrent'],
      [{ signalSeconds: 70000 }, '--signal-seconds'],
      [{ partition: 'gpu; rm -rf /' }, '--partition'],
    ];
    for (const [over, option] of cases)
      assert.throws(
        () => validateResources(R(over)),
        namedError('invalid-slurm-option', option),
        option,
      );
    for (const time of ['90', '30:00', '4:00:00', '2-0', '2-12:30', '1-12:00:00'])
      assert.doesNotThrow(() => validateResources(R({ time })), time);
  });

  it('come from the command line', () => {
    const r = resourcesFromOptions({
      partition: 'short',
      'cpus-per-task': '4',
      mem: '8G',
      time: '2:00:00',
      gpus: '1',
      'max-concurrent': '2',
      'no-requeue': true,
    });
    assert.deepEqual(r, {
      partition: 'short',
      cpusPerTask: 4,
      memory: '8G',
      time: '2:00:00',
      gpus: 1,
      maxConcurrent: 2,
      signalSeconds: DEFAULT_RESOURCES.signalSeconds,
      requeue: false,
    });
    assert.throws(
      () => resourcesFromOptions({ 'cpus-per-task': 'four' }),
      namedError('invalid-slurm-option', '--cpus-per-task'),
    );
  });

  it('a path sbatch cannot quote is refused', () => {
    const dir = tempDir('artstyle-slurm-');
    const { params, config } = studyIn(path.join(dir, 'say "hi"'));
    const plan: SlurmPlan = studyPlan(params, config, CLI);
    assert.throws(
      () => renderScript(plan, plan.jobs[0]!, R()),
      namedError('invalid-slurm-option', '--out'),
    );
    assert.throws(
      () => studyPlan(params, config, { node: 'node', main: CLI.main }),
      namedError('invalid-argument', 'node'),
    );
  });
});

describe('squeue and sacct output', () => {
  it('job ids, array tasks and pending ranges', () => {
    assert.deepEqual(parseJobIdField('12'), [{ jobId: '12', task: null }]);
    assert.deepEqual(parseJobIdField('12_3'), [{ jobId: '12', task: 3 }]);
    assert.deepEqual(
      parseJobIdField('12_[1-3%2]').map((r) => r.task),
      [1, 2, 3],
    );
    assert.deepEqual(expandTaskList('0,2,5-6'), [0, 2, 5, 6]);
    assert.deepEqual(expandTaskList('0-6:3'), [0, 3, 6]);
    assert.deepEqual(parseJobIdField('12.batch'), []);
  });

  it('states in four classes', () => {
    assert.equal(classifyState('PENDING'), 'pending');
    assert.equal(classifyState('REQUEUED'), 'pending');
    assert.equal(classifyState('RUNNING'), 'running');
    assert.equal(classifyState('COMPLETING'), 'running');
    assert.equal(classifyState('COMPLETED'), 'completed');
    assert.equal(classifyState('CANCELLED by 0'), 'failed');
    assert.equal(classifyState('TIMEOUT'), 'failed');
    assert.equal(classifyState('OUT_OF_MEMORY'), 'failed');
  });

  it('squeue rows first, sacct for what squeue forgot; accounting disabled is a note', () => {
    const rows = parseQueueLines(
      '7_0|RUNNING|None\n7_[1-2%1]|PENDING|JobArrayTaskLimit\n7.batch|RUNNING|\n',
    );
    assert.deepEqual(
      rows.map((r) => [r.jobId, r.task, r.state, r.detail]),
      [
        ['7', 0, 'running', 'None'],
        ['7', 1, 'pending', 'JobArrayTaskLimit'],
        ['7', 2, 'pending', 'JobArrayTaskLimit'],
      ],
    );
    const both = queueStates(['7', '9'], (cmd) =>
      cmd === 'squeue'
        ? '7_0|RUNNING|None\n8|RUNNING|None\n'
        : '7_0|FAILED|1:0\n9|COMPLETED|0:0\n7.batch|FAILED|1:0\n',
    );
    assert.deepEqual(
      both.rows.map((r) => [r.jobId, r.task, r.slurmState]),
      [
        ['7', 0, 'RUNNING'],
        ['9', null, 'COMPLETED'],
      ],
    );
    const noAcct = queueStates(['7'], (cmd) => {
      if (cmd === 'sacct')
        throw new ArtstyleError(
          'slurm-command-failed',
          'sacct: error: Slurm accounting storage is disabled',
        );
      return '7|PENDING|Dependency\n';
    });
    assert.equal(noAcct.rows.length, 1);
    assert.match(noAcct.notes[0]!, /accounting storage is disabled/);
  });
});
