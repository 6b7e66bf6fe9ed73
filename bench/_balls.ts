/**
 * Balls into bins: what uniform random routing should give, to judge the
 * `random` strategy's spread — and the seed design's own formula, evaluated
 * exactly as written (VirgoDesign.txt, "Loadbalancer option 2").
 * @module
 */
import { r } from "./_util.ts";

/**
 * The seed's "expected number of requests per node" for N nodes and k
 * requests: (N^(k+2) − kN² + kN − 1) / (N^(k+3) − 2N^(k+2) + N^(k+1)),
 * computed with BigInt so large k does not overflow.
 */
export function seedExpected(N: number, k: number): number {
  const n = BigInt(N);
  const K = BigInt(k);
  const num = n ** (K + 2n) - K * n * n + K * n - 1n;
  const den = n ** (K + 3n) - 2n * n ** (K + 2n) + n ** (K + 1n);
  const scale = 10n ** 12n;
  return Number((num * scale) / den) / 1e12;
}

/** Upper tail of the chi-square distribution, by series (fine for df ≤ ~10). */
export function chiSquareP(x: number, df: number): number {
  // Regularised upper incomplete gamma Q(df/2, x/2) via the series for P.
  const a = df / 2;
  const z = x / 2;
  if (z <= 0) return 1;
  let sum = 1 / a;
  let term = 1 / a;
  for (let i = 1; i < 500; i++) {
    term *= z / (a + i);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  const lnGamma = (v: number): number => {
    // Lanczos approximation.
    const g = 7;
    const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
      12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    if (v < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * v)) - lnGamma(1 - v);
    v -= 1;
    let s = c[0]!;
    for (let i = 1; i < g + 2; i++) s += c[i]! / (v + i);
    const t = v + g + 0.5;
    return 0.5 * Math.log(2 * Math.PI) + (v + 0.5) * Math.log(t) - t + Math.log(s);
  };
  const p = Math.exp(a * Math.log(z) - z - lnGamma(a)) * sum;
  return Math.max(0, Math.min(1, 1 - p));
}

/** Observed per-node counts against the binomial expectation k/N, σ = √(k·(1/N)·(1−1/N)). */
export function spread(counts: number[]) {
  const N = counts.length;
  const k = counts.reduce((a, b) => a + b, 0);
  const expected = k / N;
  const sd = Math.sqrt(k * (1 / N) * (1 - 1 / N));
  const z = counts.map((c) => (c - expected) / sd);
  const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
  return {
    nodes: N,
    requests: k,
    counts,
    expectedPerNode: r(expected, 1),
    binomialSd: r(sd, 1),
    zScores: z.map((x) => r(x, 2)),
    maxAbsZ: r(Math.max(...z.map(Math.abs)), 2),
    chiSquare: r(chi2, 2),
    chiSquareP: r(chiSquareP(chi2, N - 1), 3),
    seedFormula: {
      value: r(seedExpected(N, k), 4),
      note: "The seed's formula tends to N/(N−1)² for large k (0.444 for N=4, whatever k is) — the value of Σ_{x≥1} x·(1/N)^x, " +
        "i.e. it treats P(x requests) as (1/N)^x, which is not a distribution over 0..k. The binomial expectation k/N (variance k·(1/N)(1−1/N)) is what uniform " +
        "random routing gives; the observed counts are judged against that.",
    },
  };
}
