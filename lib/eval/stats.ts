import { check } from '../util/errors';

/**
 * Small, exact statistics for reporting a model choice honestly: confidence intervals of an
 * accuracy and a paired test of two classifiers on the same images.
 */

/**
 * Complementary error function. A power series below 2 and a continued fraction above: accurate
 * to about 1e-13 absolute, far below anything a p-value report prints, without a special-function
 * dependency.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let sum = 0;
    let term = x;
    for (let n = 0; n < 200; n++) {
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      term *= (-x * x) / (n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction (Lentz) for erfc, converges fast for x >= 2.
  const tiny = 1e-300;
  let f = tiny;
  let c = f;
  let d = 0;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  for (let i = 0; i < 500; i++) {
    const a = i === 0 ? 1 : i / 2;
    const b = x;
    d = b + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = b + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-x * x) / Math.sqrt(Math.PI)) * f;
}

/** Quantile of the standard normal distribution (Acklam's algorithm refined by one Halley step). */
export function normalQuantile(p: number): number {
  check(p > 0 && p < 1, 'p', `expected a probability strictly between 0 and 1, got ${p}`);
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
    -3.066479806614716e1, 2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
    -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

export interface Interval {
  /** The point estimate, successes / n. */
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * Wilson score interval of a proportion (statsmodels `proportion_confint(method='wilson')`).
 * Preferred to the normal approximation because it stays inside [0, 1] and keeps its coverage for
 * accuracies near 0 or 1 and for small validation sets.
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  check(Number.isInteger(n) && n > 0, 'n', `expected a positive integer count, got ${n}`);
  check(
    Number.isInteger(successes) && successes >= 0 && successes <= n,
    'successes',
    `expected an integer in 0..${n}, got ${successes}`,
  );
  check(
    confidence > 0 && confidence < 1,
    'confidence',
    `expected a level strictly between 0 and 1 (e.g. 0.95), got ${confidence}`,
  );
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return {
    estimate: p,
    lower: Math.max(0, center - half),
    upper: Math.min(1, center + half),
    confidence,
  };
}

function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

/** P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so n in the thousands is exact enough. */
export function binomialCdfHalf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const lnN = logFactorial(n);
  let lnKf = 0; // ln k!
  let lnNk = lnN; // ln (n-k)!, updated downward
  let total = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) {
      lnKf += Math.log(i);
      lnNk -= Math.log(n - i + 1);
    }
    total += Math.exp(lnN - lnKf - lnNk - n * Math.LN2);
  }
  return Math.min(1, total);
}

/** Survival function of the chi-square distribution with one degree of freedom. */
export function chiSquare1Sf(x: number): number {
  if (x <= 0) return 1;
  return erfc(Math.sqrt(x / 2));
}

export interface McNemarResult {
  /** Images A got right and B got wrong. */
  onlyA: number;
  /** Images B got right and A got wrong. */
  onlyB: number;
  bothRight: number;
  bothWrong: number;
  n: number;
  /** Exact two-sided p-value: binomial test of the discordant pairs against 1/2. */
  exactP: number;
  /** (|b - c| - 1)^2 / (b + c), the continuity-corrected statistic (statsmodels' formula). */
  chiSquare: number;
  chiSquareP: number;
}

/**
 * McNemar's test of two classifiers on the same images, from per-image correctness.
 * Matches statsmodels `mcnemar(table, exact=True)` (p = min(1, 2 * BinomCdf(min(b, c), b + c, 1/2)))
 * and `mcnemar(table, exact=False, correction=True)`. With no discordant pairs both p-values are 1.
 */
export function mcnemar(
  correctA: ArrayLike<boolean | number>,
  correctB: ArrayLike<boolean | number>,
): McNemarResult {
  check(
    correctA.length === correctB.length,
    'correctB',
    `expected one entry per image of correctA (${correctA.length}), got ${correctB.length}`,
  );
  check(correctA.length > 0, 'correctA', 'expected at least one image');
  let onlyA = 0;
  let onlyB = 0;
  let bothRight = 0;
  let bothWrong = 0;
  for (let i = 0; i < correctA.length; i++) {
    const a = Boolean(correctA[i]);
    const b = Boolean(correctB[i]);
    if (a && b) bothRight++;
    else if (a) onlyA++;
    else if (b) onlyB++;
    else bothWrong++;
  }
  const discordant = onlyA + onlyB;
  const exactP =
    discordant === 0 ? 1 : Math.min(1, 2 * binomialCdfHalf(Math.min(onlyA, onlyB), discordant));
  const chiSquare = discordant === 0 ? 0 : (Math.abs(onlyA - onlyB) - 1) ** 2 / discordant;
  return {
    onlyA,
    onlyB,
    bothRight,
    bothWrong,
    n: correctA.length,
    exactP,
    chiSquare,
    chiSquareP: discordant === 0 ? 1 : chiSquare1Sf(chiSquare),
  };
}
