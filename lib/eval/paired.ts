import { check } from '../util/errors';

/**
 * Paired tests for comparing two models evaluated on the same splits (one metric value per seed
 * for each): the paired t-test (scipy's `ttest_rel`) and the Wilcoxon signed-rank test (scipy's
 * `wilcoxon`, exact distribution), both two-sided, on the differences d_s = a_s - b_s.
 *
 * Why both: the t-test assumes the differences are roughly normal, which a handful of seeds cannot
 * show; the signed-rank test assumes only symmetry, but with n pairs its smallest two-sided
 * p-value is 2 / 2^n (0.0625 for 5 seeds), so it cannot reach 0.05 below 6 seeds.
 */

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), relative error ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  check(x >= 0 && x <= 1, 'x', `expected a value in [0, 1], got ${x}`);
  if (x === 0 || x === 1) return x;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(|T| >= |t|) for Student's t with `df` degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  check(df > 0, 'df', `expected > 0, got ${df}`);
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

export interface PairedTest {
  n: number;
  meanDifference: number;
  /** Sample standard deviation (n - 1) of the differences. */
  sdDifference: number;
  statistic: number;
  /** Two-sided; NaN where the test is undefined (for the t-test: all differences equal). */
  pValue: number;
}

function differences(a: readonly number[], b: readonly number[]): number[] {
  check(a.length === b.length, 'b', `expected ${a.length} paired values, got ${b.length}`);
  check(a.length >= 2, 'a', `expected at least 2 pairs, got ${a.length}`);
  return a.map((v, i) => {
    const d = v - (b[i] as number);
    check(Number.isFinite(d), 'a', `non-finite pair at index ${i}`);
    return d;
  });
}

function meanSd(d: number[]): { mean: number; sd: number } {
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (d.length - 1));
  return { mean, sd };
}

/** scipy.stats.ttest_rel(a, b): t = mean(d) / (sd(d) / sqrt(n)), n - 1 degrees of freedom. */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTest {
  const d = differences(a, b);
  const { mean, sd } = meanSd(d);
  const n = d.length;
  const statistic =
    sd === 0 ? (mean === 0 ? NaN : Math.sign(mean) * Infinity) : mean / (sd / Math.sqrt(n));
  return {
    n,
    meanDifference: mean,
    sdDifference: sd,
    statistic,
    pValue: studentTTwoSided(statistic, n - 1),
  };
}

/**
 * The Wilcoxon signed-rank test of the differences, two-sided. As scipy (zero_method 'wilcox'):
 * zero differences are dropped; ties share their average rank; the statistic is the smaller of
 * the positive and negative rank sums. The p-value is exact, from all 2^n sign assignments of the
 * ranks (what scipy's mode 'exact' computes when there are no ties; with ties scipy still uses the
 * distribution of untied ranks 1..n, this enumerates the tied ranks themselves). p = 1 when every difference is 0.
 */
export function wilcoxonSignedRank(a: readonly number[], b: readonly number[]): PairedTest {
  const all = differences(a, b);
  const { mean, sd } = meanSd(all);
  const d = all.filter((x) => x !== 0);
  const n = d.length;
  check(
    n <= 24,
    'a',
    `the exact test enumerates 2^n sign patterns; ${n} non-zero pairs is too many`,
  );
  if (n === 0) return { n: 0, meanDifference: mean, sdDifference: sd, statistic: 0, pValue: 1 };
  const order = d.map((x, i) => ({ abs: Math.abs(x), i })).sort((p, q) => p.abs - q.abs);
  const ranks = new Array<number>(n);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && (order[e + 1] as { abs: number }).abs === (order[s] as { abs: number }).abs)
      e++;
    for (let k = s; k <= e; k++) ranks[(order[k] as { i: number }).i] = (s + e) / 2 + 1;
    s = e + 1;
  }
  let plus = 0;
  let minus = 0;
  d.forEach((x, i) => (x > 0 ? (plus += ranks[i] as number) : (minus += ranks[i] as number)));
  const statistic = Math.min(plus, minus);
  // Count the sign patterns whose smaller rank sum is at most the observed one (two-sided).
  let extreme = 0;
  const total = ranks.reduce((s, r) => s + r, 0);
  for (let mask = 0; mask < 1 << n; mask++) {
    let pos = 0;
    for (let k = 0; k < n; k++) if (mask & (1 << k)) pos += ranks[k] as number;
    if (Math.min(pos, total - pos) <= statistic + 1e-9) extreme++;
  }
  return {
    n,
    meanDifference: mean,
    sdDifference: sd,
    statistic,
    pValue: Math.min(1, extreme / 2 ** n),
  };
}
