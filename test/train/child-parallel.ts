/**
 * Run by the parallel-step kill test in a separate process: trains on two worker threads and,
 * when asked, announces that it reached a batch and waits to be killed there.
 * Usage: node child-parallel.js <outDir> [hangEpoch hangBatch]
 */
import * as tf from '@tensorflow/tfjs';
import { parallelTrainScenario } from './parallel-scenario';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [outDir, epoch, batch] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: child-parallel.js <outDir> [epoch batch]');
  await parallelTrainScenario(
    outDir,
    2,
    epoch !== undefined ? [Number(epoch), Number(batch)] : undefined,
  );
  process.stdout.write('DONE\n');
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
