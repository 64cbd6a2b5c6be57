import { readdirSync, readFileSync } from 'node:fs';

/**
 * Readings of other processes from Linux's /proc. The readers answer `undefined` when the
 * process is gone or /proc is unavailable, so sampling never fails a phase.
 */

/**
 * Clock ticks per second of `utime`/`stime` in /proc/<pid>/stat. Linux fixes USER_HZ at 100
 * on every architecture it exposes to user space, and node offers no sysconf to ask.
 */
const TICKS_PER_SECOND = 100;

/**
 * `VmRSS` of `pid` in bytes: what the kernel holds in memory for the process (V8 heap, buffers
 * and native allocations together).
 */
export function readRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU time `pid` has used so far (user + system, all threads), in seconds. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after it may not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * CPU time used so far by the processes whose command name is `command` (PostgreSQL's server
 * and its backends are all `postgres`), in seconds; `undefined` when /proc is unavailable. A
 * process that ends between two readings takes its time with it, so compare readings over a
 * stretch in which the processes of interest live on (pooled connections).
 */
export function readCommandCpuSeconds(command: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let seconds = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trimEnd() !== command) continue;
    } catch {
      continue;
    }
    seconds += readCpuSeconds(Number(entry)) ?? 0;
  }
  return seconds;
}

/**
 * CPU time the whole machine has spent busy so far (every core; user, nice, system, irq,
 * softirq and steal from the first line of /proc/stat), in seconds.
 */
export function readMachineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [label, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/);
    if (label !== 'cpu') return undefined;
    const busy = [user, nice, system, irq, softirq, steal].reduce(
      (sum, field) => sum + (Number(field) || 0),
      0,
    );
    return busy / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
