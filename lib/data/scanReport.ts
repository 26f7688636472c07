import { DataFrame } from 'danfojs-node';
import type { ImageFolder } from './imageFolder';

export interface SkippedRow {
  path: string;
  class: string;
  reason: string;
  message: string;
}

export interface DuplicateRow {
  hash: string;
  copies: number;
  paths: string;
  classes: string;
}

/**
 * The files a scan could not use and the groups of identical files, as plain rows and as danfojs
 * DataFrames for the notebook (a DataFrame needs at least one row, so an empty table is null).
 */
export function scanReport(folder: ImageFolder): {
  skipped: SkippedRow[];
  duplicates: DuplicateRow[];
  skippedFrame: DataFrame | null;
  duplicatesFrame: DataFrame | null;
} {
  const skipped = folder.skipped
    .map((s) => ({ path: s.path, class: s.class, reason: s.reason, message: s.message }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const duplicates = folder.duplicates.map((d) => ({
    hash: d.hash.slice(0, 12),
    copies: d.paths.length,
    paths: d.paths.join(', '),
    classes: d.classes.join(', '),
  }));
  return {
    skipped,
    duplicates,
    skippedFrame: skipped.length
      ? new DataFrame(skipped, { columns: ['path', 'class', 'reason', 'message'] })
      : null,
    duplicatesFrame: duplicates.length
      ? new DataFrame(duplicates, { columns: ['hash', 'copies', 'paths', 'classes'] })
      : null,
  };
}
