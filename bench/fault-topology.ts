import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { createBenchStream } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import { startInfrastructure, type Infrastructure } from './infrastructure.js';
import { startS3FaultProxy, type S3FaultProxy } from './fault-s3-proxy.js';
import { say } from './progress.js';
import type { SigningIdentity } from './sigv4.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';

/**
 * Everything the fault oracle runs Sluice on, and the handles its faults pull: a private
 * redis-server with `appendfsync always`, s3rver behind the S3 fault proxy, and Sluice as
 * separate `api` and `worker` processes. A Sluice process that dies without being killed on
 * purpose is recorded as a crash and started again, so the run goes on and the report says so.
 */

/** The stream every record goes to. */
export const ORACLE_STREAM = 'oracle';
/** Small buffers, so batches are sealed, queued and delivered all the time and faults hit each step. */
const BUFFERING = { sizeMb: 1, intervalSeconds: 1 } as const;
/** Attempts to start a Sluice process (a start can fail while Redis is down). */
const START_ATTEMPTS = 5;
const START_RETRY_MS = 1_000;
/** Attempts to bring Redis back after a kill. */
const REDIS_RESTART_ATTEMPTS = 3;
/** Examples kept per kind of warning the service logged. */
const MAX_PROBLEM_KINDS = 50;

/** Which kind of Sluice process. */
export type SluiceRole = 'api' | 'worker';

/** One Sluice process position, restarted in place after each kill. */
interface Slot {
  readonly role: SluiceRole;
  readonly index: number;
  process: SluiceProcess | undefined;
  client: FirehoseHttp | undefined;
  /** Serialises kills, restarts and crash recovery of this slot. */
  chain: Promise<void>;
}

/** A Sluice or Redis process that went away without being killed by a fault. */
export interface Crash {
  atMs: number;
  name: string;
  how: string;
  logTail: string;
}

/** An api process producers can send to now. */
export interface ApiTarget {
  readonly client: FirehoseHttp;
  readonly label: string;
}

/** Settings of {@link Topology.start}. */
export interface TopologyOptions {
  apis: number;
  workers: number;
  maxBacklogMb: number;
  /** Requests in flight per api process (the producers' concurrency). */
  connections: number;
  identity: SigningIdentity;
}

/** The running system under test. */
export class Topology {
  /** Unexpected exits, in order. */
  readonly crashes: Crash[] = [];
  /** Warning and error lines the service logged: count and first example per message. */
  readonly problems = new Map<string, { count: number; example: string }>();
  private readonly slots: Slot[] = [];
  private closing = false;
  private readonly recoveries = new Set<Promise<void>>();

  private constructor(
    readonly infra: Infrastructure,
    readonly proxy: S3FaultProxy,
    /** The oracle's own Redis connection; reconnects forever, so it outlives Redis kills. */
    readonly redis: Redis,
    private readonly options: TopologyOptions,
  ) {}

  /**
   * Starts Redis (AOF always) and s3rver, the proxy, the Sluice processes, and creates the
   * stream. On failure everything started so far is left to the caller's `cleanUpAll`.
   */
  static async start(options: TopologyOptions): Promise<Topology> {
    const infra = await startInfrastructure('aof-always');
    const proxy = await startS3FaultProxy(infra.s3.endpoint);
    const redis = new Redis(infra.redis.server.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 5_000,
      retryStrategy: () => 200,
    });
    redis.on('error', () => undefined);
    const topology = new Topology(infra, proxy, redis, options);
    for (let i = 0; i < options.apis; i += 1) topology.slots.push(newSlot('api', i + 1));
    for (let i = 0; i < options.workers; i += 1) topology.slots.push(newSlot('worker', i + 1));
    await Promise.all(topology.slots.map((slot) => topology.launch(slot)));
    const first = topology.apiTargets()[0];
    if (!first) throw new Error('no api process started');
    await createBenchStream(first.client, ORACLE_STREAM, BUFFERING);
    return topology;
  }

  /** Buffering hints of the stream, for the report. */
  static readonly buffering = BUFFERING;

  /** The api processes that run now. */
  apiTargets(): ApiTarget[] {
    const targets: ApiTarget[] = [];
    for (const slot of this.slots) {
      if (slot.role !== 'api' || !slot.client || !slot.process?.child.running) continue;
      targets.push({ client: slot.client, label: label(slot) });
    }
    return targets;
  }

  /** How many processes of `role` the topology has. */
  count(role: SluiceRole): number {
    return this.slots.filter((s) => s.role === role).length;
  }

  /** The name and pid of process `index` (0-based) of `role`, e.g. `worker#2 (pid 123)`. */
  labelOf(role: SluiceRole, index: number): string {
    const slot = this.slots.filter((s) => s.role === role)[index];
    return slot ? label(slot) : `${role}#${index + 1}`;
  }

  /**
   * SIGKILLs process `index` (0-based) of `role`, waits `downMs`, and starts a new one in its
   * place. Resolves with what was killed.
   */
  async killSluice(role: SluiceRole, index: number, downMs: number): Promise<string> {
    const slot = this.slots.filter((s) => s.role === role)[index];
    if (!slot) throw new Error(`no ${role} #${index + 1}`);
    let killed = '';
    await this.serialise(slot, async () => {
      const current = slot.process;
      killed = label(slot);
      if (current) {
        current.child.killNow();
        await current.child.exited;
      }
      this.detach(slot);
      await sleep(downMs);
      if (!this.closing) await this.launch(slot);
    });
    return killed;
  }

  /** SIGKILLs redis-server, waits `downMs`, and starts it again on the same port and directory. */
  async killRedis(downMs: number): Promise<void> {
    const server = this.infra.redis.server;
    await server.kill('SIGKILL');
    await sleep(downMs);
    await this.restartRedis();
  }

  /**
   * Cuts every client connection to Redis while Redis stays up, as a network blip or a proxy
   * restart would. Commands in flight may have run without their reply reaching the client.
   *
   * @returns how many connections were cut.
   */
  async dropRedisConnections(): Promise<number> {
    return Number(await this.redis.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
  }

  /** Starts any Sluice process or Redis that is not running (after the faults, before draining). */
  async ensureRunning(): Promise<void> {
    await Promise.all([...this.recoveries]);
    if (!this.infra.redis.server.child.running) await this.restartRedis();
    await Promise.all(
      this.slots.map((slot) =>
        slot.process?.child.running
          ? Promise.resolve()
          : this.serialise(slot, () => this.launch(slot)),
      ),
    );
  }

  /**
   * Notices a Redis that died without a fault (Sluice processes are watched by themselves):
   * records it as a crash and starts it again.
   */
  async checkRedis(): Promise<void> {
    const child = this.infra.redis.server.child;
    if (child.running || child.stopping || this.closing) return;
    this.crashes.push({
      atMs: Date.now(),
      name: 'redis-server',
      how: `code ${child.process.exitCode}, signal ${child.process.signalCode}`,
      logTail: child.logTail(),
    });
    await this.restartRedis();
  }

  /** Stops every Sluice process (SIGTERM, bounded), the proxy and the servers. */
  async stop(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.recoveries]);
    await Promise.allSettled(
      this.slots.map(async (slot) => {
        const current = slot.process;
        this.detach(slot);
        await current?.stop();
      }),
    );
    await this.proxy.close();
    this.redis.disconnect();
    await this.infra.stop();
  }

  private async restartRedis(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= REDIS_RESTART_ATTEMPTS; attempt += 1) {
      try {
        await this.infra.redis.server.restart();
        return;
      } catch (error) {
        lastError = error;
        say(`redis-server restart attempt ${attempt} failed: ${String(error).split('\n')[0]}`);
      }
    }
    throw new Error(`redis-server could not be restarted`, { cause: lastError });
  }

  private serialise(slot: Slot, work: () => Promise<void>): Promise<void> {
    const run = slot.chain.then(work);
    slot.chain = run.catch(() => undefined);
    return run;
  }

  private detach(slot: Slot): void {
    slot.client?.close();
    slot.client = undefined;
    slot.process = undefined;
  }

  /** Starts a process in `slot`, retrying a few times, and watches it for crashes. */
  private async launch(slot: Slot): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS && !this.closing; attempt += 1) {
      try {
        const started = await startSluice({
          role: slot.role,
          redisUrl: this.infra.redis.server.url,
          s3Env: { ...this.infra.s3.sluiceEnv, SLUICE_S3_ENDPOINT: this.proxy.endpoint },
          maxBacklogMb: this.options.maxBacklogMb,
        });
        slot.process = started;
        slot.client = started.url
          ? new FirehoseHttp(started.url, this.options.identity, this.options.connections)
          : undefined;
        this.watch(slot, started);
        return;
      } catch (error) {
        lastError = error;
        say(`${slot.role}#${slot.index} start attempt ${attempt} failed: ${firstLine(error)}`);
        await sleep(START_RETRY_MS);
      }
    }
    if (!this.closing) {
      throw new Error(`${slot.role}#${slot.index} could not be started`, { cause: lastError });
    }
  }

  private watch(slot: Slot, started: SluiceProcess): void {
    started.child.onLine((line) => this.noteProblem(slot.role, line));
    void started.child.exited.then(({ code, signal }) => {
      if (started.child.stopping || this.closing || slot.process !== started) return;
      this.crashes.push({
        atMs: Date.now(),
        name: label(slot, started),
        how: `code ${code}, signal ${signal}`,
        logTail: started.child.logTail(),
      });
      say(
        `${label(slot, started)} exited by itself (code ${code}, signal ${signal}); restarting it`,
      );
      const recovery = this.serialise(slot, async () => {
        if (slot.process !== started) return;
        this.detach(slot);
        await this.launch(slot);
      })
        .catch((error: unknown) =>
          say(`restarting ${slot.role}#${slot.index} failed: ${firstLine(error)}`),
        )
        .finally(() => this.recoveries.delete(recovery));
      this.recoveries.add(recovery);
    });
  }

  private noteProblem(role: SluiceRole, line: string): void {
    let key: string;
    if (line.startsWith('{')) {
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level === undefined || Number(level) < 40) return;
      key = `${role}: ${/"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line.slice(0, 120)}`;
    } else {
      // Output that is not a log line (a library's console.error): counted by its first line;
      // indented or closing lines continue a printed stack or object.
      if (line.trim() === '' || /^[\s}\]]/.test(line)) return;
      key = `${role}: (not a log line) ${line.slice(0, 120)}`;
    }
    const known = this.problems.get(key);
    if (known) known.count += 1;
    else if (this.problems.size < MAX_PROBLEM_KINDS) {
      this.problems.set(key, { count: 1, example: line.slice(0, 600) });
    }
  }
}

function newSlot(role: SluiceRole, index: number): Slot {
  return { role, index, process: undefined, client: undefined, chain: Promise.resolve() };
}

function label(slot: Slot, process: SluiceProcess | undefined = slot.process): string {
  return `${slot.role}#${slot.index}${process ? ` (pid ${process.child.pid})` : ''}`;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
