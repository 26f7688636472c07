import { ArtstyleError, check } from '../util/errors';

export interface MultiLabelMatrix {
  /** The column labels, sorted (scikit-learn's `classes_`). */
  classes: string[];
  /** rows x classes, 1 where the row has the label (row-major). */
  data: Uint8Array;
  rows: number;
  /** Labels of the input that are not in `classes` (only with a fixed class list). */
  unknown: { row: number; label: string }[];
}

function checkLists(labelLists: readonly (readonly string[])[]): void {
  check(Array.isArray(labelLists), 'labelLists', 'expected an array of label arrays');
  labelLists.forEach((l, i) =>
    check(
      Array.isArray(l) && l.every((x) => typeof x === 'string'),
      `labelLists[${i}]`,
      'expected an array of strings',
    ),
  );
}

/**
 * scikit-learn's `MultiLabelBinarizer` semantics: `fit` takes the sorted unique labels as classes;
 * `transform` makes the 0/1 matrix with one column per class, a repeated label still 1, and labels
 * outside the classes ignored and reported (scikit-learn warns about them).
 */
export class MultiLabelBinarizer {
  classes: string[] | null;

  /** `classes` fixes the columns (and their order) instead of learning them. */
  constructor(classes?: readonly string[]) {
    if (classes) {
      check(new Set(classes).size === classes.length, 'classes', 'contains a repeated label');
      this.classes = [...classes];
    } else this.classes = null;
  }

  fit(labelLists: readonly (readonly string[])[]): this {
    checkLists(labelLists);
    if (this.classes === null) {
      const all = new Set<string>();
      for (const l of labelLists) for (const x of l) all.add(x);
      this.classes = [...all].sort();
    }
    return this;
  }

  transform(labelLists: readonly (readonly string[])[]): MultiLabelMatrix {
    checkLists(labelLists);
    if (this.classes === null)
      throw new ArtstyleError(
        'not-fitted',
        'MultiLabelBinarizer: call fit before transform',
        'classes',
      );
    const classes = this.classes;
    const col = new Map(classes.map((c, i) => [c, i]));
    const data = new Uint8Array(labelLists.length * classes.length);
    const unknown: { row: number; label: string }[] = [];
    labelLists.forEach((l, r) => {
      for (const x of l) {
        const c = col.get(x);
        if (c === undefined) unknown.push({ row: r, label: x });
        else data[r * classes.length + c] = 1;
      }
    });
    return { classes: [...classes], data, rows: labelLists.length, unknown };
  }

  fitTransform(labelLists: readonly (readonly string[])[]): MultiLabelMatrix {
    return this.fit(labelLists).transform(labelLists);
  }

  /** Label lists back from a 0/1 matrix (sklearn `inverse_transform`), in class order. */
  inverseTransform(m: { data: Uint8Array; rows: number }): string[][] {
    if (this.classes === null)
      throw new ArtstyleError('not-fitted', 'MultiLabelBinarizer: call fit first', 'classes');
    const k = this.classes.length;
    check(
      m.data.length === m.rows * k,
      'data',
      `expected ${m.rows}x${k} values, got ${m.data.length}`,
    );
    const out: string[][] = [];
    for (let r = 0; r < m.rows; r++)
      out.push(this.classes.filter((_, c) => m.data[r * k + c] === 1));
    return out;
  }
}

/** `MultiLabelBinarizer().fit_transform(labelLists)`: classes are the sorted unique labels. */
export function multiLabelBinarize(labelLists: readonly (readonly string[])[]): MultiLabelMatrix {
  return new MultiLabelBinarizer().fitTransform(labelLists);
}
