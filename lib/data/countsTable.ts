import { DataFrame } from 'danfojs-node';
import type { Manifest } from './manifest';

export interface CountsRow {
  class: string;
  train: number;
  val: number;
  test: number;
  total: number;
}

/**
 * Images per class and split, with a final `Total` row (the seed's table). `rows` is plain data
 * for plots and tests; `frame` is the same table as a danfojs DataFrame for the notebook.
 */
export function countsTable(manifest: Manifest): { rows: CountsRow[]; frame: DataFrame } {
  const rows: CountsRow[] = manifest.classNames.map((c) => ({
    class: c,
    train: 0,
    val: 0,
    test: 0,
    total: 0,
  }));
  const byClass = new Map(rows.map((r) => [r.class, r]));
  const total: CountsRow = { class: 'Total', train: 0, val: 0, test: 0, total: 0 };
  for (const it of manifest.items) {
    const r = byClass.get(it.class);
    if (!r) continue;
    r[it.split]++;
    r.total++;
    total[it.split]++;
    total.total++;
  }
  rows.push(total);
  const frame = new DataFrame(
    rows.map((r) => ({ ...r })),
    { columns: ['class', 'train', 'val', 'test', 'total'] },
  );
  return { rows, frame };
}
