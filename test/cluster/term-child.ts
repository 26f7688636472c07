/**
 * Run by sigterm.test.ts in a separate process: `term-child.js train <outDir> [term]` or
 * `term-child.js member <outDir> <pretrainDir> <blocks> [term]`; with `term`, it asks for a SIGTERM
 * mid-epoch (see term-scenario.ts). Prints the run's status last.
 */
import { tf, termMember, termTrain, waitForTerm } from './term-scenario';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [mode, outDir, third, fourth, fifth] = process.argv.slice(2);
  if (mode === 'train' && outDir) {
    const r = await termTrain(outDir, third === 'term' ? waitForTerm : undefined);
    process.stdout.write(`STATUS ${r.status}\n`);
  } else if (mode === 'member' && outDir && third && fourth) {
    const r = await termMember(
      outDir,
      third,
      Number(fourth),
      fifth === 'term' ? waitForTerm : undefined,
    );
    process.stdout.write(`STATUS ${r.status}\n`);
  } else {
    process.stderr.write(
      'usage: term-child.js train <outDir> [term] | member <outDir> <pretrainDir> <blocks> [term]\n',
    );
    process.exit(2);
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
