import { ArtstyleError, check } from '../util/errors';

/**
 * Balanced class weights exactly as scikit-learn's `compute_class_weight('balanced')`:
 * n_samples / (n_classes * bincount(y)). Each class then carries the same total weight in the loss.
 * Like sklearn, a class with no samples is an error (its weight would be infinite), named here.
 */
export function balancedClassWeights(
  labels: ArrayLike<number>,
  numClasses: number,
  classNames?: string[],
): number[] {
  check(
    Number.isInteger(numClasses) && numClasses > 0,
    'numClasses',
    `expected a positive integer, got ${numClasses}`,
  );
  check(labels.length > 0, 'labels', 'expected at least one label');
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < numClasses))
      throw new ArtstyleError(
        'invalid-argument',
        `labels[${i}] = ${y} is not a class index in 0..${numClasses - 1}`,
        'labels',
      );
    counts[y]!++;
  }
  const missing = counts.flatMap((c, i) => (c === 0 ? [i] : []));
  if (missing.length > 0) {
    const names = missing.map((i) => (classNames?.[i] ? `${i} (${classNames[i]})` : String(i)));
    throw new ArtstyleError(
      'empty-class',
      `classes ${names.join(', ')} have no samples in the labels; balanced class weights need every class present`,
      'labels',
    );
  }
  return counts.map((c) => labels.length / (numClasses * c));
}
