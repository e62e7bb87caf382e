// Preloaded into the gateway by the soak (`node --import ./bench/heapProbe.mjs app/dist/server.mjs`), never in
// production: the heap is only visible from inside the process. One stderr line every 5 s, unref'd so it
// never holds the process open. Plain .mjs so the gateway runs without tsx.
const timer = setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write(`BENCH_HEAP ${JSON.stringify({ t: Date.now(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external })}\n`);
}, 5000);
timer.unref();
