/**
 * Worker thread of `repeatOverSeeds` (study2.ts): receives the genre data and the study's config
 * once (workerData), then trains one (split, seed) run per message and replies with its metrics.
 * It loads only the networks (study2-train.ts), not TensorFlow.js. Protocol: `SeedJob` /
 * `SeedReply` in study2.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MetadataStudyConfig } from '../config/study2';
import type { SeedJob, SeedReply } from './study2';
import { seedRun, type GenreData } from './study2-train';

const { data, config } = workerData as { data: GenreData; config: MetadataStudyConfig };
const port = parentPort;
if (port === null) throw new Error('study2-worker.js runs as a worker thread of repeatOverSeeds');

port.on('message', (job: SeedJob) => {
  let reply: SeedReply;
  try {
    reply = { index: job.index, run: seedRun(data, config, job.split, job.seed) };
  } catch (e) {
    const err = e as Error;
    reply = { index: job.index, error: err.message, stack: err.stack };
  }
  port.postMessage(reply);
});
