import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time, and the
 * package or source file they come from. Lines of an esbuild bundle are attributed through the `// path`
 * comment esbuild puts before each module (the bundle is looked up at the profiled URL, else as
 * `server.mjs` beside the profile, where `npm run bench -- --cpu-prof DIR` copies it).
 * With `--inclusive regex,...`, also the time of samples with any frame from a matching module or function
 * anywhere on their stack (what a component costs with everything it calls).
 * @example npx tsx bench/profileSummary.ts /tmp/prof/CPU.*.cpuprofile 30 --inclusive 'body-limit,jose,@smithy|@aws-sdk'
 */
interface Node {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
const args = process.argv.slice(2);
const incAt = args.indexOf('--inclusive');
const inclusive = incAt >= 0 ? args.splice(incAt, 2)[1]!.split(',') : [];
const [file, topArg] = args;
if (!file) {
  process.stderr.write('usage: tsx bench/profileSummary.ts <file.cpuprofile> [top=30]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
// Self time per node from the sample deltas (µs), not hit counts, so idle gaps weigh what they lasted.
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** Module start lines of the bundle, for attributing a bundle line to its package or source file. */
function bundleModules(url: string): Array<[number, string]> {
  const candidates = [url.startsWith('file://') ? fileURLToPath(url) : url, join(dirname(file!), 'server.mjs')];
  const path = candidates.find((p) => p && existsSync(p));
  if (!path) return [];
  const out: Array<[number, string]> = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      if (l.startsWith('// ') && /\.(m?[jt]s|json)$/.test(l)) out.push([i, l.slice(3)]);
    });
  return out;
}
const modulesByUrl = new Map<string, Array<[number, string]>>();
function moduleOf(url: string, line: number): string | undefined {
  if (!url.endsWith('.mjs')) return undefined;
  if (!modulesByUrl.has(url)) modulesByUrl.set(url, bundleModules(url));
  let found: string | undefined;
  for (const [start, name] of modulesByUrl.get(url)!) {
    if (start > line) break;
    found = name;
  }
  return found;
}
const category = (mod: string) =>
  /node_modules\/((@[^/]+\/)?[^/]+)/.exec(mod)?.[1] ?? mod.replace(/^(\.\.\/)+/, '').replace(/^.*?\b(app|common|contract)\//, '$1/');

const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const n of profile.nodes) {
  const t = self.get(n.id) ?? 0;
  if (!t) continue;
  const { functionName, url, lineNumber } = n.callFrame;
    const mod = moduleOf(url, lineNumber);
  const where = mod ? category(mod) : url.replace(/^file:\/\/.*\//, '');
  const key = `${functionName || '(anonymous)'}  ${where}${mod ? ` (${mod.split('/').slice(-1)[0]})` : `:${lineNumber + 1}`}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
  const pkg = mod ? category(mod) : url ? (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url) : functionName;
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
}
const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
process.stdout.write(`total sampled ${(total / 1e6).toFixed(2)} s\n\ntop ${top} functions by self time\n`);
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(t)}  ${k}\n`);
process.stdout.write(`\nby category\n`);
for (const [k, t] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.CATEGORIES ?? 20))) process.stdout.write(`${pct(t)}  ${k}\n`);

if (inclusive.length > 0) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (n: Node) => `${n.callFrame.functionName} ${moduleOf(n.callFrame.url, n.callFrame.lineNumber) ?? n.callFrame.url}`;
  const busy = total - [...self].filter(([id]) => nodes.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  process.stdout.write(`\ninclusive time (share of non-idle ${(busy / 1e6).toFixed(2)} s)\n`);
  for (const pattern of inclusive) {
    const re = new RegExp(pattern);
    let t = 0;
    for (const [id, dt] of self) {
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        if (re.test(label(nodes.get(cur)!))) {
          t += dt;
          break;
        }
      }
    }
    process.stdout.write(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${pattern}\n`);
  }
}
