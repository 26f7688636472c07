/**
 * Run by the kill-and-resume tests in a separate process: trains (or sweeps) into a folder and,
 * when asked, announces that it reached a given batch and then waits to be killed there.
 * Usage: node child-train.js <train|sweep> <outDir> [hangEpoch hangBatch [hangModel | sigint]]
 */
import * as tf from '@tensorflow/tfjs';
import { runChildScenario } from './scenarios';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [mode, outDir, hangEpoch, hangBatch, hangModel] = process.argv.slice(2);
  if ((mode !== 'train' && mode !== 'sweep') || !outDir) {
    process.stderr.write('usage: child-train.js <train|sweep> <outDir> [epoch batch [blocks]]\n');
    process.exit(2);
  }
  const hang =
    hangEpoch !== undefined
      ? {
          epoch: Number(hangEpoch),
          batch: Number(hangBatch),
          model: hangModel === undefined || hangModel === 'sigint' ? undefined : Number(hangModel),
          action: hangModel === 'sigint' ? ('sigint' as const) : ('hang' as const),
        }
      : undefined;
  await runChildScenario(mode, outDir, hang);
  process.stdout.write('DONE\n');
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
