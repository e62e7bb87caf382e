import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// utime/stime in /proc/<pid>/stat are in clock ticks (USER_HZ, almost always 100).
const TICKS_PER_SECOND = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU time (user + system) a process has used so far, in microseconds; from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are positional.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14 overall
  const stime = Number(fields[12]); // field 15 overall
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
}

/** Resident set size of a process in bytes; from /proc/<pid>/status VmRSS. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The clock-tick resolution of {@link cpuMicros}, in microseconds. */
export const CPU_RESOLUTION_MICROS = 1e6 / TICKS_PER_SECOND;

/**
 * CPU time all cores of the machine have been busy so far, in microseconds; from /proc/stat. The bench
 * subtracts its own processes' share to show what other processes took from the cores during a window.
 */
export function machineBusyMicros(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return ((user + nice + system + irq + softirq + steal) * 1e6) / TICKS_PER_SECOND;
}
