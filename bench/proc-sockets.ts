import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Readings of a process's tree, file descriptors and TCP connections from Linux's /proc, for the
 * streams phase. Every reader answers `undefined` (or nothing) when the process is gone or /proc
 * is unavailable, so sampling never fails a phase.
 */

/** One row of `/proc/<pid>/net/tcp` or `tcp6`. */
export interface TcpRow {
  localPort: number;
  remotePort: number;
  /** The kernel's state code in hex: `01` is ESTABLISHED. */
  state: string;
  /** Inode of the socket, which a process's `fd/` links name as `socket:[<inode>]`. */
  inode: number;
}

/** The `st` code of an established connection. */
export const TCP_ESTABLISHED = '01';

/** The port of an `address:port` field of /proc/net/tcp (both in hex); NaN when malformed. */
function portOf(field: string | undefined): number {
  const hex = field?.split(':').pop();
  return hex === undefined || hex === '' ? Number.NaN : Number.parseInt(hex, 16);
}

/**
 * Parses the text of `/proc/<pid>/net/tcp` or `tcp6`: a header line, then one socket a line
 * (`sl local_address rem_address st … uid timeout inode …`). Lines that do not parse are skipped.
 */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const row: TcpRow = {
      localPort: portOf(fields[1]),
      remotePort: portOf(fields[2]),
      state: fields[3] ?? '',
      inode: Number(fields[9]),
    };
    if (Number.isFinite(row.localPort) && Number.isFinite(row.remotePort) && row.inode > 0) {
      rows.push(row);
    }
  }
  return rows;
}

/** The socket inodes among `links` (targets of `/proc/<pid>/fd/*`, e.g. `socket:[123]`). */
export function socketInodes(links: readonly string[]): Set<number> {
  const inodes = new Set<number>();
  for (const link of links) {
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match?.[1] !== undefined) inodes.add(Number(match[1]));
  }
  return inodes;
}

/** Targets of the open file descriptors of `pid`; `undefined` when they cannot be read. */
function fdLinks(pid: number): string[] | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        // Closed between the listing and the link: it is not open any more.
        return [];
      }
    });
  } catch {
    return undefined;
  }
}

/** How many file descriptors `pid` holds open. */
export function countOpenFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/**
 * How many established TCP connections `pid` holds to `remotePort` (on any address): its socket
 * file descriptors matched against the connection tables of its network namespace. A connection
 * whose both ends are in the process (none here) would count once.
 */
export function countConnectionsTo(pid: number, remotePort: number): number | undefined {
  const links = fdLinks(pid);
  if (links === undefined) return undefined;
  const own = socketInodes(links);
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const row of parseTcpTable(text)) {
      if (row.remotePort === remotePort && row.state === TCP_ESTABLISHED && own.has(row.inode)) {
        count += 1;
      }
    }
  }
  return count;
}

/** The direct children of `pid` (every thread's `children` list); empty when unreadable. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter((p) => p !== '')
          .map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** Every process below `pid`, children before grandchildren. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined || out.includes(next)) continue;
    out.push(next);
    queue.push(...childrenOf(next));
  }
  return out;
}

/** `SLUICE_ROLE` of a Sluice process, from its environment; `undefined` when not readable. */
export function sluiceRoleOf(pid: number): string | undefined {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return environ.find((v) => v.startsWith('SLUICE_ROLE='))?.slice('SLUICE_ROLE='.length);
  } catch {
    return undefined;
  }
}

/** Whether process `pid` still exists (and is not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
