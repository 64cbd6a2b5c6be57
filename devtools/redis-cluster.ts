import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { appendOnlyFileFlags } from '../src/redis/append-only-file.js';
import { Child, raceTimeout, removeTempDir, tempDirUntilExit } from './children.js';
import { freePort } from './free-port.js';
import { untilAnswering } from './redis-server.js';

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters that share the 16384 slots at the start (default 3, the least Redis accepts). */
  masters?: number;
  /** Replicas of each master (default 1); a master without one cannot be failed over. */
  replicasPerMaster?: number;
  /** Append-only file on (default `true`) on every node. */
  appendOnly?: boolean;
  /** When every node fsyncs its append-only file: `always` (default) or `everysec`. */
  appendfsync?: 'always' | 'everysec';
  /** Start of the temporary directory's name (default `sluice-redis-cluster-`). */
  dirPrefix?: string;
  /**
   * `cluster-node-timeout` in ms (default 2000): how long a silent node takes to be declared
   * failed, so about how long a failover takes. Shorter risks failovers the test did not ask for
   * when two shared cores are busy.
   */
  nodeTimeoutMs?: number;
}

/** One node of a {@link RedisCluster}, as the cluster sees it at the time of the call. */
export interface ClusterNodeInfo {
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** The node's cluster id (CLUSTER MYID), kept across restarts in its `nodes.conf`. */
  id: string;
  role: 'master' | 'replica';
  /** The id of the master a replica follows; `undefined` for a master. */
  masterId: string | undefined;
  /** The slot ranges the node serves, inclusive (`[start, end]`); empty for replicas. */
  slots: readonly (readonly [number, number])[];
  /** How many slots {@link slots} covers. */
  slotCount: number;
  /** The cluster flags the node as failed (e.g. it was killed and not restarted yet). */
  failed: boolean;
  /** The node's current process (a new one after {@link RedisCluster.restartNode}). */
  child: Child;
}

/** What {@link RedisCluster.killMaster} did. */
export interface Failover {
  /** Port of the master that was SIGKILLed. */
  killed: number;
  /** Port of its replica that now serves the killed master's slots. */
  promoted: number;
}

/** A private Redis Cluster on loopback, started by {@link startRedisCluster}. */
export interface RedisCluster {
  /**
   * `redis://127.0.0.1:<port>` of each master at the start. Fixed: after {@link killMaster} one
   * of them is down, as a seed in a client's configuration would be.
   */
  readonly seeds: readonly string[];
  /** {@link seeds} joined by commas: the form `SLUICE_REDIS_URL` takes for cluster mode. */
  readonly url: string;
  /** The persistence and cluster flags every node's redis-server was given. */
  readonly flags: readonly string[];
  /**
   * Every node this helper started (killed ones included), with role and slots as a running node
   * sees them (CLUSTER NODES), ordered by port.
   */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** Recent output of every node and of every redis-cli run, for failure messages. */
  logs(): string;
  /** Shuts every node down (SIGTERM, SIGKILL if one lingers) and deletes the directories. */
  stop(): Promise<void>;
  /**
   * SIGKILLs a master (by default the one serving the most slots) and waits until one of its
   * replicas serves its slots and the surviving nodes agree the cluster is ok again.
   *
   * @throws when the master has no running replica, or the failover does not finish in time.
   */
  killMaster(port?: number): Promise<Failover>;
  /**
   * Starts a killed node again on its port and directory, and waits until the cluster has taken
   * it back (a failed-over master comes back as a replica of its successor).
   */
  restartNode(port: number): Promise<void>;
  /** Starts one more node, joins it as a master without slots, and waits until all know it. */
  addMaster(): Promise<ClusterNodeInfo>;
  /**
   * Moves `slots` slots from all other masters to the master on `toPort` (redis-cli MIGRATEs the
   * keys, so clients may keep writing), and waits until every node agrees on the new map.
   * Resolves with how many slots the target gained: redis-cli takes a share from each source,
   * rounded, so up to one slot per source fewer than asked.
   */
  reshard(toPort: number, slots: number): Promise<number>;
  /** Spreads the slots evenly over all masters, empty ones included, and waits until settled. */
  rebalance(): Promise<void>;
}

/** Slots in every Redis Cluster. */
const CLUSTER_SLOTS = 16384;
/** Redis puts a node's cluster bus on its port plus this. */
const BUS_PORT_OFFSET = 10_000;
/** How long a polite shutdown, or a SIGKILL, may take. */
const EXIT_TIMEOUT_MS = 10_000;
/** How long the nodes may take to agree after a create, join, restart or slot move. */
const SETTLE_TIMEOUT_MS = 30_000;
/** How long a failover may take: failure detection and election are a few node timeouts. */
const FAILOVER_TIMEOUT_MS = 30_000;
/** How long one redis-cli --cluster run may take (a reshard of thousands of slots is slow). */
const REDIS_CLI_TIMEOUT_MS = 120_000;
/** Launches that fail because a port was taken meanwhile are retried on fresh ports. */
const MAX_LAUNCH_ATTEMPTS = 5;
/** Candidate ports drawn before giving up finding a port whose bus port is free too. */
const MAX_PORT_CANDIDATES = 100;
/** Output kept per node and for redis-cli runs. */
const MAX_LOG_CHARS = 64 * 1024;
/** Log lines per node in an error message. */
const ERROR_LOG_LINES = 15;

/** A redis-server this helper runs, across restarts. */
interface NodeProcess {
  readonly port: number;
  readonly dir: string;
  child: Child;
  /** Output of the node's earlier processes (before a restart). */
  earlierLogs: string;
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string | undefined;
  slots: [number, number][];
}

/**
 * Starts a Redis Cluster of `masters × (1 + replicasPerMaster)` private `redis-server` processes
 * on 127.0.0.1, each on a free port with its own directory, joined with `redis-cli --cluster
 * create`, and resolves once every node reports `cluster_state:ok`, all nodes agree on who serves
 * which slot, and every replica's link to its master is up.
 *
 * Nodes and directories are removed by {@link RedisCluster.stop}, or when this process exits.
 *
 * @throws when redis-server or redis-cli is missing, a node does not start, or the cluster does
 *   not settle in time; the message includes the nodes' logs.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, not ${masters}`);
  const root = tempDirUntilExit(options.dirPrefix ?? 'sluice-redis-cluster-');
  const flags = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(options.nodeTimeoutMs ?? 2_000),
    '--save',
    '',
    ...(options.appendOnly === false
      ? ['--appendonly', 'no']
      : appendOnlyFileFlags(options.appendfsync ?? 'always')),
  ];

  const procs = new Map<number, NodeProcess>();
  /** Ports and bus ports taken by this cluster's nodes, bound or about to be. */
  const reserved = new Set<number>();
  let cliLog = '';
  let stopped = false;

  const running = (): NodeProcess[] => [...procs.values()].filter((p) => p.child.running);
  const nodeLogs = (proc: NodeProcess): string =>
    (proc.earlierLogs + proc.child.logs()).slice(-MAX_LOG_CHARS);
  const logTails = (): string =>
    [...procs.values()]
      .map(
        (p) =>
          `--- redis-server 127.0.0.1:${p.port}${p.child.running ? '' : ' (not running)'} ---\n` +
          nodeLogs(p).split('\n').slice(-ERROR_LOG_LINES).join('\n'),
      )
      .join('\n') + `\n--- redis-cli ---\n${cliLog.split('\n').slice(-ERROR_LOG_LINES).join('\n')}`;

  const launchNew = async (): Promise<NodeProcess> => {
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePortWithBus(reserved);
      const dir = join(root, String(port));
      mkdirSync(dir, { recursive: true });
      try {
        const proc: NodeProcess = {
          port,
          dir,
          child: await launchNode(port, dir, flags),
          earlierLogs: '',
        };
        procs.set(port, proc);
        return proc;
      } catch (err) {
        const collided = /address already in use/i.test(err instanceof Error ? err.message : '');
        if (!collided || attempt >= MAX_LAUNCH_ATTEMPTS) throw err;
      }
    }
  };

  const redisCli = async (args: string[]): Promise<string> => {
    const output = await runRedisCli(args);
    cliLog = (cliLog + `$ redis-cli ${args.join(' ')}\n${output}`).slice(-MAX_LOG_CHARS);
    return output;
  };

  /** Waits until {@link clusterProblem} finds nothing wrong, or throws with the last problem. */
  const settle = async (what: string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> => {
    await waitUntil(what, timeoutMs, () => clusterProblem(running().map((p) => p.port)), logTails);
  };

  /** The cluster's view from the first running node that answers. */
  const clusterView = async (): Promise<NodeLine[]> => {
    let lastError = 'no node is running';
    for (const proc of running()) {
      try {
        return parseClusterNodes(await command(proc.port, 'CLUSTER', 'NODES'));
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
    throw new Error(`no running node answered CLUSTER NODES: ${lastError}`);
  };

  const nodes = async (): Promise<ClusterNodeInfo[]> => {
    const view = await clusterView();
    const result: ClusterNodeInfo[] = [];
    for (const proc of [...procs.values()].sort((a, b) => a.port - b.port)) {
      const line = view.find((l) => l.port === proc.port);
      if (line === undefined) continue;
      result.push({
        port: proc.port,
        url: `redis://127.0.0.1:${proc.port}`,
        id: line.id,
        role: line.flags.includes('master') ? 'master' : 'replica',
        masterId: line.masterId,
        slots: line.slots,
        slotCount: countSlots(line.slots),
        failed: line.flags.includes('fail') || !proc.child.running,
        child: proc.child,
      });
    }
    return result;
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...procs.values()].map((p) => p.child.stop(EXIT_TIMEOUT_MS)));
    await removeTempDir(root);
  };

  const entryPort = (): number => {
    const first = running()[0];
    if (first === undefined) throw new Error('no node of the cluster is running');
    return first.port;
  };

  let seeds: string[];
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i += 1) await launchNew();
    const addresses = [...procs.keys()].map((port) => `127.0.0.1:${port}`);
    await redisCli([
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
    await settle('the new cluster did not settle');
    seeds = (await nodes()).filter((n) => n.role === 'master').map((n) => n.url);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const logs = logTails();
    await stop();
    throw new Error(`could not start a Redis Cluster: ${message}\n${logs}`, { cause: err });
  }

  return {
    seeds,
    url: seeds.join(','),
    flags,
    nodes,
    logs: () =>
      [...procs.values()]
        .map((p) => `--- redis-server 127.0.0.1:${p.port} ---\n${nodeLogs(p)}`)
        .join('\n') + `\n--- redis-cli ---\n${cliLog}`,
    stop,

    async killMaster(port?: number): Promise<Failover> {
      const view = await nodes();
      const live = view.filter((n) => n.role === 'master' && !n.failed && n.slotCount > 0);
      const target =
        port === undefined
          ? live.reduce<ClusterNodeInfo | undefined>(
              (best, n) => (best === undefined || n.slotCount > best.slotCount ? n : best),
              undefined,
            )
          : live.find((n) => n.port === port);
      if (target === undefined) {
        throw new Error(
          port === undefined
            ? 'no running master serves slots'
            : `127.0.0.1:${port} is not a running master that serves slots`,
        );
      }
      const replicas = view.filter((n) => n.masterId === target.id && !n.failed);
      if (replicas.length === 0) {
        throw new Error(`master 127.0.0.1:${target.port} has no running replica to fail over to`);
      }
      const proc = procs.get(target.port);
      if (proc === undefined) throw new Error(`127.0.0.1:${target.port} is not this cluster's`);
      await sigkill(proc.child);

      let promoted: number | undefined;
      await waitUntil(
        `no replica of the killed master 127.0.0.1:${target.port} took over`,
        FAILOVER_TIMEOUT_MS,
        async () => {
          promoted = undefined;
          for (const replica of replicas) {
            const info = await command(replica.port, 'INFO', 'replication');
            if (/^role:master/m.test(info)) promoted = replica.port;
          }
          if (promoted === undefined) return 'no replica reports role:master yet';
          return clusterProblem(running().map((p) => p.port));
        },
        logTails,
      );
      return { killed: target.port, promoted: promoted ?? 0 };
    },

    async restartNode(port: number): Promise<void> {
      const proc = procs.get(port);
      if (proc === undefined) throw new Error(`127.0.0.1:${port} is not a node of this cluster`);
      if (stopped) throw new Error('the cluster was stopped; start a new one');
      if (proc.child.running) throw new Error(`127.0.0.1:${port} is running; kill it first`);
      proc.earlierLogs = nodeLogs(proc);
      proc.child = await launchNode(port, proc.dir, flags);
      await settle(`the cluster did not take 127.0.0.1:${port} back`);
    },

    async addMaster(): Promise<ClusterNodeInfo> {
      await settle('the cluster was not settled before adding a node');
      const entry = entryPort();
      const proc = await launchNew();
      await redisCli([
        '--cluster',
        'add-node',
        `127.0.0.1:${proc.port}`,
        `127.0.0.1:${entry}`,
        '--cluster-yes',
      ]);
      await settle(`the cluster did not take in the new node 127.0.0.1:${proc.port}`);
      const added = (await nodes()).find((n) => n.port === proc.port);
      if (added === undefined)
        throw new Error(`127.0.0.1:${proc.port} is missing from CLUSTER NODES`);
      return added;
    },

    async reshard(toPort: number, slots: number): Promise<number> {
      if (!procs.get(toPort)?.child.running) {
        throw new Error(`127.0.0.1:${toPort} is not a running node of this cluster`);
      }
      // redis-cli refuses to move slots while the nodes disagree about the slot map.
      await settle('the cluster was not settled before resharding');
      const slotsOf = async (): Promise<number> =>
        (await nodes()).find((n) => n.port === toPort)?.slotCount ?? 0;
      const before = await slotsOf();
      const toId = (await command(toPort, 'CLUSTER', 'MYID')).trim();
      await redisCli([
        '--cluster',
        'reshard',
        `127.0.0.1:${toPort}`,
        '--cluster-from',
        'all',
        '--cluster-to',
        toId,
        '--cluster-slots',
        String(slots),
        '--cluster-yes',
      ]);
      await settle(`the cluster did not settle after moving ${slots} slots to 127.0.0.1:${toPort}`);
      return (await slotsOf()) - before;
    },

    async rebalance(): Promise<void> {
      await settle('the cluster was not settled before rebalancing');
      await redisCli([
        '--cluster',
        'rebalance',
        `127.0.0.1:${entryPort()}`,
        '--cluster-use-empty-masters',
      ]);
      await settle('the cluster did not settle after rebalancing');
    },
  };
}

/**
 * A free port below 55536 whose cluster bus port (port + 10000) is free too, and neither is
 * `reserved` (another node's, maybe not bound yet); both are added to `reserved`.
 */
async function freePortWithBus(reserved: Set<number>): Promise<number> {
  for (let i = 0; i < MAX_PORT_CANDIDATES; i += 1) {
    const port = await freePort();
    const bus = port + BUS_PORT_OFFSET;
    if (bus > 65_535 || reserved.has(port) || reserved.has(bus)) continue;
    if (!(await isFree(bus))) continue;
    reserved.add(port);
    reserved.add(bus);
    return port;
  }
  throw new Error(`found no free port with a free bus port in ${MAX_PORT_CANDIDATES} tries`);
}

/** Whether a listener could bind 127.0.0.1:`port` a moment ago. */
async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Spawns a cluster-enabled redis-server and resolves once it answers PING. */
async function launchNode(port: number, dir: string, flags: readonly string[]): Promise<Child> {
  const child = new Child(
    `redis-server 127.0.0.1:${port}`,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', ...flags],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return untilAnswering(
    child,
    port,
    async () => (await command(port, 'PING').catch(() => '')) === 'PONG',
  );
}

/** SIGKILLs a node (a crash) and waits until the process is gone. */
async function sigkill(child: Child): Promise<void> {
  child.stopping = true;
  child.process.kill('SIGKILL');
  if ((await raceTimeout(child.exited, EXIT_TIMEOUT_MS)) === undefined) {
    throw new Error(`${child.name} ignored SIGKILL for ${EXIT_TIMEOUT_MS} ms`);
  }
}

/** Runs `redis-cli` with `args`, bounded; resolves with its output, rejects when it fails. */
async function runRedisCli(args: readonly string[]): Promise<string> {
  const child = new Child('redis-cli', 'redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ended = await raceTimeout(child.exited, REDIS_CLI_TIMEOUT_MS);
  const shown = `redis-cli ${args.join(' ')}`;
  if (ended === undefined) {
    await child.stop(1_000, 'SIGKILL');
    throw new Error(
      `${shown} did not finish within ${REDIS_CLI_TIMEOUT_MS} ms:\n${child.logTail(40)}`,
    );
  }
  if (child.spawnError) {
    throw new Error(`could not run redis-cli (is it installed?): ${child.spawnError.message}`);
  }
  if (ended.code !== 0) {
    throw new Error(`${shown} failed (code ${ended.code}):\n${child.logTail(40)}`);
  }
  return child.logs();
}

/**
 * One command on a fresh connection that makes no second attempt: a probe must report a node that
 * is down or loading, not wait for it as a client would.
 */
async function command(port: number, ...args: [string, ...string[]]): Promise<string> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // A loading node then answers -LOADING, which is an error here, instead of being waited for.
    enableReadyCheck: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const [name, ...rest] = args;
    return String(await redis.call(name, ...rest));
  } finally {
    redis.disconnect();
  }
}

/**
 * What keeps the cluster formed by the nodes on `ports` from being settled, or `undefined` when
 * nothing does: each must report `cluster_state:ok` with every slot assigned, know every other,
 * agree with all others on which node serves which slot (no slot on a failed node), and, as a
 * replica, have its link to its master up.
 */
async function clusterProblem(ports: readonly number[]): Promise<string | undefined> {
  const views = new Map<number, NodeLine[]>();
  for (const port of ports) {
    let info: string;
    let text: string;
    try {
      info = await command(port, 'CLUSTER', 'INFO');
      text = await command(port, 'CLUSTER', 'NODES');
    } catch (err) {
      return `127.0.0.1:${port} does not answer: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!/^cluster_state:ok/m.test(info)) return `127.0.0.1:${port} reports cluster_state:fail`;
    if (!new RegExp(`^cluster_slots_assigned:${CLUSTER_SLOTS}\\b`, 'm').test(info)) {
      return `127.0.0.1:${port} does not see all ${CLUSTER_SLOTS} slots assigned`;
    }
    views.set(port, parseClusterNodes(text));
  }
  let reference: string | undefined;
  for (const [port, view] of views) {
    for (const other of ports) {
      const line = view.find((l) => l.port === other);
      if (line === undefined || line.flags.some((f) => f === 'handshake' || f === 'noaddr')) {
        return `127.0.0.1:${port} does not know 127.0.0.1:${other} yet`;
      }
    }
    const owners = view.filter((l) => l.slots.length > 0);
    const onFailed = owners.find((l) => l.flags.some((f) => f === 'fail' || f === 'fail?'));
    if (onFailed) return `127.0.0.1:${port} sees slots on failed node 127.0.0.1:${onFailed.port}`;
    const signature = owners
      .map((l) => `${l.port}:${l.slots.map(([a, b]) => `${a}-${b}`).join(',')}`)
      .sort()
      .join(' ');
    reference ??= signature;
    if (signature !== reference) return `the nodes do not agree on the slot map yet`;
    const self = view.find((l) => l.flags.includes('myself'));
    if (self?.flags.includes('slave')) {
      const replication = await command(port, 'INFO', 'replication').catch(() => '');
      if (!/^master_link_status:up/m.test(replication)) {
        return `replica 127.0.0.1:${port}'s link to its master is not up`;
      }
    }
  }
  return undefined;
}

/** Polls `problem` until it returns `undefined`; throws `what`, the last problem and the logs. */
async function waitUntil(
  what: string,
  timeoutMs: number,
  problem: () => Promise<string | undefined>,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined = 'not checked yet';
  while (Date.now() < deadline) {
    try {
      last = await problem();
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (last === undefined) return;
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms; last seen: ${last}\n${logs()}`);
}

/**
 * Parses CLUSTER NODES: `<id> <ip:port@bus> <flags> <master|-> <ping> <pong> <epoch> <link>
 * <slot|range>…`. Slots being migrated (`[slot->-id]`) are left out: they still belong to their
 * source.
 */
function parseClusterNodes(text: string): NodeLine[] {
  const lines: NodeLine[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(' ');
    const [id, address, flags, master] = fields;
    if (!id || !address || !flags || !master) continue;
    const port = Number(/:(\d+)@/.exec(address)?.[1] ?? Number.NaN);
    const slots: [number, number][] = [];
    for (const field of fields.slice(8)) {
      if (field.startsWith('[')) continue;
      const [start, end] = field.split('-').map(Number);
      if (start !== undefined) slots.push([start, end ?? start]);
    }
    lines.push({
      id,
      port,
      flags: flags.split(','),
      masterId: master === '-' ? undefined : master,
      slots,
    });
  }
  return lines;
}

/** How many slots the inclusive ranges cover. */
function countSlots(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
}
