/**
 * Fib: CPU-bound work for routing experiments. `GET /fn/fib?n=25` computes
 * the 25th Fibonacci number the slow, recursive way. `n` is capped at 40 so a
 * typo does not burn a core for minutes.
 * @module
 */
function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export default {
  fetch(request: Request): Response {
    const raw = new URL(request.url).searchParams.get("n") ?? "20";
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 40) {
      return Response.json({ error: "n must be an integer from 0 to 40" }, { status: 400 });
    }
    return Response.json({ n, fib: fib(n) });
  },
};
