import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../util/fs';

/** One epoch's metrics, named as Keras names them in `history.history`. */
export interface EpochRecord {
  /** 1-based, as Keras prints it. */
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  /** Wall-clock seconds of the epoch (training and validation); not part of the results. */
  seconds: number;
}

export const HISTORY_COLUMNS: (keyof EpochRecord)[] = [
  'epoch',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'seconds',
];

export function historyCsv(history: EpochRecord[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  // Full precision (shortest round-trip repr) so the CSV reproduces the JSON exactly.
  for (const r of history) lines.push(HISTORY_COLUMNS.map((c) => String(r[c])).join(','));
  return lines.join('\n') + '\n';
}

/** Writes `history.json` and `history.csv` in `dir`, each atomically. */
export function writeHistory(dir: string, history: EpochRecord[]): void {
  writeJsonAtomic(path.join(dir, 'history.json'), history);
  writeFileAtomic(path.join(dir, 'history.csv'), historyCsv(history));
}

/** Reads `history.json` from a run folder, checking that it is a list of epoch records. */
export function readHistory(dir: string): EpochRecord[] {
  const file = path.join(dir, 'history.json');
  const value = readJson<unknown>(file);
  const ok =
    Array.isArray(value) &&
    value.every(
      (r) =>
        r !== null &&
        typeof r === 'object' &&
        HISTORY_COLUMNS.every((c) => typeof (r as Record<string, unknown>)[c] === 'number'),
    );
  if (!ok) {
    throw new ArtstyleError(
      'corrupt-file',
      `${file} is not a training history (a list of records with ${HISTORY_COLUMNS.join(', ')})`,
      file,
    );
  }
  return value as EpochRecord[];
}
