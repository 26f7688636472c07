/**
 * Run by the member-threads kill test in a separate process: the smoke sweep of `<outDir>` (its
 * prepare and pretrain already done) on two member threads, until killed or finished.
 * Usage: node member-threads-child.js <outDir>
 */
import { selectBackend } from '../../lib/backend/select';
import { resolveParams } from '../../lib/pipeline/params';
import * as study1 from '../../lib/pipeline/study1';
import { memberThreads } from '../../lib/pipeline/sweep-members';

async function main(): Promise<void> {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: member-threads-child.js <outDir>');
  await selectBackend({ force: 'wasm', log: null });
  const params = resolveParams({ profile: 'smoke', outDir }, {});
  const config = study1.studyConfig(params);
  const sources = study1.sculptureSources(params, config);
  const members = memberThreads(params, config, { members: 2, reason: 'test' }, null);
  const r = await study1.sweepStep(params, config, sources, { log: null, members });
  process.stdout.write(`${r.status}\n`);
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
