import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { loadSettings } from '../../src/config/env.js';
import { describe, expect, it } from 'vitest';

import {
  cleanupAfterEach,
  createS3Stream,
  deliveredRecords,
  DRAIN_AFTER_TAKEOVER_MS,
  eventually,
  expectExactlyOnce,
  FAST,
  firehoseFor,
  objectKeyPattern,
  ONE_BOUNDED_ATTEMPT,
  putRecordBatch,
  requestRecords,
  startServers,
  startService,
  waitForDrain,
  type Servers,
} from '../support/e2e.js';
import { freePort } from '../support/free-port.js';
import { runUntilExit } from '../support/run-until-exit.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * `SLUICE_PROCESSES`: the process started with `SLUICE_ROLE=all` supervises an API process and
 * a delivery process (on any machine: the tests set 2). Children that crash are restarted and
 * lose nothing; a stop signal drains them all; children do not outlive a supervisor killed
 * outright; a child that crashes in a loop, or cannot start, ends the supervisor with a message.
 */

const TEST_TIMEOUT_MS = 150_000;

const cleanups = cleanupAfterEach();

/** Sluice supervising two processes on `servers`, with fast sealing, retries and sweeping. */
function startSupervised(servers: Servers, env: Record<string, string> = {}) {
  return startService(cleanups, {
    ...servers.sluiceEnv,
    ...FAST,
    SLUICE_PROCESSES: '2',
    ...env,
  });
}

/** The children that said they started (`process.started`), oldest first. */
function children(sluice: SluiceProcess): { pid: number; role: string }[] {
  return sluice
    .logRecords()
    .filter((r) => r.event === 'process.started')
    .map((r) => ({ pid: r.pid as number, role: r.role as string }));
}

/** The pid of the newest child of `role` that started and is not in `not`. */
async function childPid(sluice: SluiceProcess, role: string, not: number[] = []): Promise<number> {
  return eventually(
    `a ${role} process to start`,
    () => children(sluice).findLast((c) => c.role === role && !not.includes(c.pid))?.pid,
    { sluice },
  );
}

/** The nice value of each thread of process `pid` (Linux: field 19 of each thread's stat). */
function threadNiceValues(pid: number): number[] {
  const threads = readdirSync(`/proc/${pid}/task`);
  const values = threads.map((thread) => {
    const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, nice field 19.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
  expect(values.length).toBeGreaterThan(1);
  return values;
}

/** Whether a process with `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A stream into `bucket` that seals at 1 MiB or after a second. */
function createStream(client: FirehoseClient, bucket: string): Promise<string> {
  return createS3Stream(client, 'supervised', bucket, {
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
  });
}

/**
 * Sends requests `from` … `to - 1` of a run (see requestRecords) one after another and files
 * every record as acknowledged or not.
 */
async function put(
  client: FirehoseClient,
  stream: string,
  run: string,
  range: { from: number; to: number },
  tally: { acked: Map<string, string>; unacked: Map<string, string> },
): Promise<void> {
  for (let request = range.from; request < range.to; request++) {
    const records = requestRecords(run, request);
    try {
      const out = await putRecordBatch(
        client,
        stream,
        records.map((r) => r.text),
      );
      records.forEach((record, i) => {
        const acked = out.RequestResponses?.[i]?.RecordId !== undefined;
        (acked ? tally.acked : tally.unacked).set(record.id, record.text);
      });
    } catch {
      for (const record of records) tally.unacked.set(record.id, record.text);
    }
  }
}

describe('supervised processes', () => {
  it(
    'runs an API and a delivery process that deliver what is put; a SIGTERM drains both and exits 0',
    async () => {
      const servers = await startServers(cleanups);
      await servers.s3.createBucket('supervised');
      // The service's default priority for delivery (the test helper's is 0).
      const sluice = await startSupervised(servers, {
        SLUICE_DELIVERY_NICE: String(loadSettings({}).SLUICE_DELIVERY_NICE),
      });
      const api = await childPid(sluice, 'api');
      const worker = await childPid(sluice, 'worker');
      expect(new Set([api, worker, sluice.pid]).size).toBe(3);
      const started = await sluice.waitForLog(/"event":"supervisor.started"/);
      expect(JSON.parse(started)).toMatchObject({
        pid: sluice.pid,
        processes: 2,
        roles: ['api', 'worker'],
        url: sluice.url,
      });
      // Metrics are the API process's: its own series carry its role.
      const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
      expect(metrics).toMatch(/^process_cpu_seconds_total\{role="api"\}/m);

      const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
      const stream = await createStream(client, 'supervised');
      const tally = { acked: new Map<string, string>(), unacked: new Map<string, string>() };
      await put(client, stream, randomBytes(4).toString('hex'), { from: 0, to: 20 }, tally);
      expect(tally.unacked.size).toBe(0);
      await waitForDrain(servers.redis, stream, sluice);
      const { byId } = await deliveredRecords(servers.s3, 'supervised', objectKeyPattern(stream));
      expectExactlyOnce(tally.acked, byId);
      // Delivery yields busy cores to the API (SLUICE_DELIVERY_NICE, 5 by default): every
      // thread of the delivery process, those its delivery started too; none of the API's.
      expect(threadNiceValues(worker).every((nice) => nice === 5)).toBe(true);
      expect(threadNiceValues(api).every((nice) => nice === 0)).toBe(true);

      const exit = await sluice.stop('SIGTERM');
      expect(exit, sluice.logs()).toEqual({ code: 0, signal: null });
      const stopped = sluice
        .logRecords()
        .filter((r) => r.event === 'process.stopped')
        .map((r) => r.pid);
      expect(stopped.sort()).toEqual([api, worker].sort());
      expect(sluice.logs()).toContain('"event":"supervisor.stopped","unclean":[]');
      expect([alive(api), alive(worker)]).toEqual([false, false]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SIGKILL of the delivery process: it is restarted, and every acknowledged record is delivered exactly once',
    async () => {
      const servers = await startServers(cleanups);
      await servers.s3.createBucket('worker-killed');
      const sluice = await startSupervised(servers);
      const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
      const stream = await createStream(client, 'worker-killed');
      const run = randomBytes(4).toString('hex');
      const tally = { acked: new Map<string, string>(), unacked: new Map<string, string>() };

      const worker = await childPid(sluice, 'worker');
      // Batches open, sealed, queued and in delivery when the kill comes.
      await put(client, stream, run, { from: 0, to: 30 }, tally);
      process.kill(worker, 'SIGKILL');
      const restarted = await sluice.waitForLog(
        /"event":"child.restarted","role":"worker"/,
        30_000,
      );
      const second = JSON.parse(restarted) as { pid: number };
      expect(second.pid).not.toBe(worker);
      expect(sluice.logs()).toMatch(
        new RegExp(
          `"event":"child.exited","role":"worker","pid":${worker},"code":null,"signal":"SIGKILL"`,
        ),
      );
      await put(client, stream, run, { from: 30, to: 40 }, tally);
      expect(tally.unacked.size).toBe(0);

      await waitForDrain(servers.redis, stream, sluice, DRAIN_AFTER_TAKEOVER_MS);
      const { byId } = await deliveredRecords(
        servers.s3,
        'worker-killed',
        objectKeyPattern(stream),
      );
      expectExactlyOnce(tally.acked, byId);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SIGKILL of the API process: it is restarted and the port answers puts again',
    async () => {
      const servers = await startServers(cleanups);
      const sluice = await startSupervised(servers);
      const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
      const stream = await createStream(client, 'api-killed');
      const api = await childPid(sluice, 'api');
      process.kill(api, 'SIGKILL');
      await sluice.waitForLog(/"event":"child.restarted","role":"api"/, 30_000);
      const second = await childPid(sluice, 'api', [api]);
      expect(alive(api)).toBe(false);
      expect(alive(second)).toBe(true);
      const out = await putRecordBatch(firehoseFor(cleanups, sluice), stream, ['after\n']);
      expect(out.FailedPutCount).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SIGKILL of the supervisor: its processes exit, and a new start delivers every acknowledged record',
    async () => {
      const servers = await startServers(cleanups);
      // Deliveries fail until the bucket exists, so the kill finds every batch in Redis.
      const first = await startSupervised(servers);
      const client = firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT);
      const stream = await createStream(client, 'supervisor-killed');
      const tally = { acked: new Map<string, string>(), unacked: new Map<string, string>() };
      await put(client, stream, randomBytes(4).toString('hex'), { from: 0, to: 20 }, tally);
      expect(tally.unacked.size).toBe(0);
      const pids = children(first).map((c) => c.pid);
      expect(pids).toHaveLength(2);

      await first.kill();
      await eventually('the supervised processes to exit', () => pids.every((p) => !alive(p)), {
        timeoutMs: 40_000,
        state: () => `(alive: ${pids.filter(alive).join(', ')})`,
      });
      expect(first.logs()).toContain('"reason":"the supervisor is gone"');

      await servers.s3.createBucket('supervisor-killed');
      const second = await startSupervised(servers);
      await waitForDrain(servers.redis, stream, second, DRAIN_AFTER_TAKEOVER_MS);
      const { byId } = await deliveredRecords(
        servers.s3,
        'supervisor-killed',
        objectKeyPattern(stream),
      );
      expectExactlyOnce(tally.acked, byId);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a process that crashes in a loop: the supervisor gives up, stops the others and exits 1 with a message',
    async () => {
      const servers = await startServers(cleanups);
      const sluice = await startSupervised(servers);
      const api = await childPid(sluice, 'api');
      const killed: number[] = [];
      for (let crash = 1; crash <= 5; crash++) {
        const pid = await childPid(sluice, 'worker', killed);
        killed.push(pid);
        process.kill(pid, 'SIGKILL');
      }
      const exit = await Promise.race([sluice.exited, sleep(60_000, 'still running')]);
      expect(exit, sluice.logs()).toEqual({ code: 1, signal: null });
      expect(sluice.logs()).toContain('"event":"supervisor.gave-up","role":"worker"');
      const message = 'sluice: the worker process crashed 5 times within 120 s';
      expect(sluice.logs().split(message)).toHaveLength(2);
      expect(alive(api)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it('a process that cannot start: the supervisor stops the others and exits with its message, once', async () => {
    const servers = await startServers(cleanups);
    // The API port is taken, so the API process fails after the delivery process started.
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    cleanups.add(() => new Promise((resolve) => taken.close(resolve)));
    const ended = await runUntilExit({
      ...servers.sluiceEnv,
      SLUICE_PROCESSES: '2',
      SLUICE_PORT: String(port),
    });
    expect(ended.code, `${ended.stdout}${ended.stderr}`).toBe(1);
    // Said once, by the supervisor, though the API process is the one that failed.
    expect(ended.stderr.match(/^sluice: .*EADDRINUSE.*$/gm)).toEqual([
      expect.stringContaining(`127.0.0.1:${port}`),
    ]);
    const workerStarted = ended.stdout.match(
      /"pid":(\d+),"event":"process.started","role":"worker"/,
    );
    expect(workerStarted, ended.stdout).not.toBeNull();
    expect(alive(Number(workerStarted?.[1]))).toBe(false);
  });

  it.each(['0', '-1', 'many', '1000'])(
    'SLUICE_PROCESSES=%s: exits with code 2 and says what it takes',
    async (value) => {
      const ended = await runUntilExit({
        SLUICE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        SLUICE_PROCESSES: value,
      });
      expect(ended.code, ended.stderr).toBe(2);
      expect(ended.stderr).toContain(
        `SLUICE_PROCESSES="${value}": must be auto or a whole number from 1 to 999. Fix:`,
      );
    },
  );
});
