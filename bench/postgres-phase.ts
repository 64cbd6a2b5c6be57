import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { jsonRows } from '../src/destinations/redshift/copy-rows.js';
import type { BenchContext } from './context.js';
import { startDeliveryRun } from './delivery-run.js';
import type { Infrastructure } from './infrastructure.js';
import { readCommandCpuSeconds, readCpuSeconds } from './proc-stats.js';

/**
 * Phase `postgres`: records/s Sluice loads into PostgreSQL (a Redshift destination on the
 * direct path, `JSON 'auto'`), beside a bare `COPY … FROM STDIN` of the same rows in the same
 * run (target ≥ 70 %), and once more with 1 % of the records rejected by PostgreSQL, so the
 * isolation of bad rows and the error output are exercised.
 *
 * Delivery alone is timed: the records are ingested while the bench holds a SHARE lock on the
 * table (every load waits at its COPY), then the lock is released and the clock runs until the
 * last row is there. Sluice's figure is the best of three such loads on one service after a
 * first one (reported too), as the bare COPY's is the best of three runs, one run just before
 * each timed load. The bare COPY is one connection streaming the rows already in COPY's text
 * format (no JSON to convert), the fastest way PostgreSQL takes them.
 */

/**
 * CPU seconds (all cores) spent over one timed load or bare COPY: Sluice's process (every
 * thread), and PostgreSQL's processes; `undefined` where /proc could not be read.
 */
export interface LoadCpu {
  sluice: number | undefined;
  postgres: number | undefined;
}

/** What the phase measured. */
export interface PostgresResult {
  records: number;
  recordBytes: number;
  /** The bare COPY: the best of its runs, one before each of Sluice's timed loads. */
  bare: { recordsPerS: number; seconds: number; runSeconds: number[]; runCpu: LoadCpu[] };
  /**
   * Sluice, every record good: the best of {@link TIMED_LOADS} loads on one service that has
   * loaded them once before (`firstSeconds`), as the bare COPY is the best of its runs.
   */
  sluice: {
    recordsPerS: number;
    seconds: number;
    loadSeconds: number[];
    firstSeconds: number;
    /** Per timed load, in order. */
    loadCpu: LoadCpu[];
  };
  /** Sluice with 1 % of the records rejected (to the error output). */
  withFailures: { recordsPerS: number; seconds: number; rejected: number; loaded: number };
  /** `sluice.recordsPerS / bare.recordsPerS`. */
  share: number;
  cpuShare: Record<string, number | undefined>;
}

const RECORDS = 200_000;
/**
 * Timed loads of Sluice, after a first one that warms the service (its code compiled and its
 * connections open, as in a service that has been running), and runs of the bare COPY, one
 * before each: both figures are the best of as many runs, taken in turn.
 */
const TIMED_LOADS = 3;
const COLUMNS = ['id', 'name', 'amount', 'at', 'tags'];
const STREAM = 'bench-postgres';
const ERROR_BUCKET = 'bench';

/** The bench's PostgreSQL: `SLUICE_BENCH_POSTGRES_URL`, else the local one (trust). */
async function connect(): Promise<{ url: URL; pool: pg.Pool }> {
  const candidates = process.env.SLUICE_BENCH_POSTGRES_URL
    ? [process.env.SLUICE_BENCH_POSTGRES_URL]
    : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];
  for (const candidate of candidates) {
    const url = new URL(candidate);
    const pool = new pg.Pool({ connectionString: candidate, max: 3 });
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
      return { url, pool };
    } catch {
      await pool.end();
    }
  }
  throw new Error('no PostgreSQL answers (set SLUICE_BENCH_POSTGRES_URL)');
}

function records(failEvery: number | undefined): Buffer[] {
  return Array.from({ length: RECORDS }, (_, i) =>
    Buffer.from(
      `${JSON.stringify({
        id: failEvery !== undefined && i % failEvery === failEvery - 1 ? `bad-${i}` : i,
        name: `customer ${i % 997}\twith a tab`,
        amount: ((i * 37) % 100_000) / 100,
        at: new Date(1_796_000_000_000 + i * 1000).toISOString(),
        tags: { tier: i % 3, region: ['eu', 'us', 'ap'][i % 3] },
      })}\n`,
    ),
  );
}

/** The phase. */
export async function runPostgresPhase(
  ctx: BenchContext,
  infra: Infrastructure,
): Promise<PostgresResult> {
  const { url, pool } = await connect();
  const schema = `bench_pg_${process.pid}`;
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await pool.query(
      `CREATE TABLE ${schema}.events (id bigint, name text, amount numeric(12,2), at timestamptz, tags jsonb)`,
    );
    const good = records(undefined);
    const recordBytes = good.reduce((sum, r) => sum + r.length, 0);
    const copyText = copyTextOf(good);
    // One bare COPY before each of Sluice's timed loads, so that both sample the same stretch
    // of the machine's time (its speed drifts, and is lower for a while after it idled).
    const bareRuns: { seconds: number; cpu: LoadCpu }[] = [];
    const sluice = await sluiceLoads(ctx, infra, pool, url, schema, good, 1 + TIMED_LOADS, {
      beforeLoad: async (load) => {
        if (load > 0) bareRuns.push(await bareCopy(pool, `${schema}.events`, copyText));
      },
    });
    const [firstSeconds = Number.NaN, ...timed] = sluice.seconds;
    const bestSeconds = Math.min(...timed);
    const bareSeconds = bareRuns.map((r) => r.seconds);
    const bareBest = Math.min(...bareSeconds);
    const bare = {
      recordsPerS: RECORDS / bareBest,
      seconds: bareBest,
      runSeconds: bareSeconds,
      runCpu: bareRuns.map((r) => r.cpu),
    };
    const failing = records(100);
    const withFailures = await sluiceLoads(ctx, infra, pool, url, schema, failing, 1, {
      beforeLoad: () => Promise.resolve(),
    });
    const failingSeconds = withFailures.seconds[0] ?? Number.NaN;
    return {
      records: RECORDS,
      recordBytes,
      bare,
      sluice: {
        recordsPerS: RECORDS / bestSeconds,
        seconds: bestSeconds,
        loadSeconds: timed,
        firstSeconds,
        loadCpu: sluice.cpu.slice(1),
      },
      withFailures: {
        recordsPerS: RECORDS / failingSeconds,
        seconds: failingSeconds,
        rejected: RECORDS - withFailures.expected,
        loaded: withFailures.expected,
      },
      share: bestSeconds === 0 ? 0 : bare.seconds / bestSeconds,
      cpuShare: sluice.cpuShare,
    };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

/** The records as COPY text, in 5,000-row pieces: what the bare COPY streams (untimed). */
function copyTextOf(data: readonly Buffer[]): Buffer[] {
  const rows: Buffer[] = data.map((record) => {
    const converted = jsonRows(record.toString('utf8'), COLUMNS, false);
    if ('error' in converted) throw new Error(converted.error);
    return converted.rows;
  });
  const chunks: Buffer[] = [];
  for (let i = 0; i < rows.length; i += 5_000) chunks.push(Buffer.concat(rows.slice(i, i + 5_000)));
  return chunks;
}

/** CPU seconds used so far by Sluice's process (`pid`) and by PostgreSQL's. */
function cpuReading(pid: number | undefined): LoadCpu {
  return {
    sluice: pid === undefined ? undefined : readCpuSeconds(pid),
    postgres: readCommandCpuSeconds('postgres'),
  };
}

/** The CPU spent between two readings. */
function cpuSince(before: LoadCpu, after: LoadCpu): LoadCpu {
  const spent = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    sluice: spent(before.sluice, after.sluice),
    postgres: spent(before.postgres, after.postgres),
  };
}

/** One bare COPY of `chunks` into the emptied table, in one transaction: its seconds and CPU. */
async function bareCopy(
  pool: pg.Pool,
  table: string,
  chunks: readonly Buffer[],
): Promise<{ seconds: number; cpu: LoadCpu }> {
  await pool.query(`TRUNCATE ${table}`);
  const client = await pool.connect();
  try {
    const cpuBefore = cpuReading(undefined);
    const started = performance.now();
    await client.query('BEGIN');
    await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
    await client.query('COMMIT');
    const seconds = (performance.now() - started) / 1000;
    return { seconds, cpu: cpuSince(cpuBefore, cpuReading(undefined)) };
  } finally {
    client.release();
    await pool.query(`TRUNCATE ${table}`);
  }
}

/**
 * Sluice delivering `data` `loads` times on one service, each load ingested behind a table lock
 * and timed from its release: the seconds and CPU of every load, in order.
 */
async function sluiceLoads(
  ctx: BenchContext,
  infra: Infrastructure,
  pool: pg.Pool,
  url: URL,
  schema: string,
  data: readonly Buffer[],
  loads: number,
  hooks: { beforeLoad: (load: number) => Promise<void> },
) {
  const run = await startDeliveryRun(ctx, infra, STREAM, { inFlight: 8 });
  const lock = await pool.connect();
  try {
    await run.client.call('CreateDeliveryStream', {
      DeliveryStreamName: STREAM,
      RedshiftDestinationConfiguration: {
        RoleARN: 'arn:aws:iam::123456789012:role/bench',
        ClusterJDBCURL: `jdbc:postgresql://${url.hostname}:${url.port || 5432}${url.pathname}`,
        CopyCommand: {
          DataTableName: `${schema}.events`,
          DataTableColumns: COLUMNS.join(','),
          CopyOptions: "JSON 'auto' TIMEFORMAT 'auto'",
        },
        Username: decodeURIComponent(url.username) || 'postgres',
        Password: decodeURIComponent(url.password) || 'trust-auth',
        RetryOptions: { DurationInSeconds: 60 },
        S3Configuration: {
          RoleARN: 'arn:aws:iam::123456789012:role/bench',
          BucketARN: `arn:aws:s3:::${ERROR_BUCKET}`,
          BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 1 },
        },
      },
    });
    const expected = data.filter((r) => !r.includes('"bad-')).length;
    const seconds: number[] = [];
    const cpu: LoadCpu[] = [];
    run.procs.start();
    for (let load = 0; load < loads; load += 1) {
      await hooks.beforeLoad(load);
      await pool.query(`TRUNCATE ${schema}.events`);
      await lock.query('BEGIN');
      await lock.query(`LOCK TABLE ${schema}.events IN SHARE MODE`);
      for (let i = 0; i < data.length; i += 500) {
        await run.client.call('PutRecordBatch', {
          DeliveryStreamName: STREAM,
          Records: data.slice(i, i + 500).map((r) => ({ Data: r.toString('base64') })),
        });
      }
      // Every batch sealed (the last by age) and waiting at the lock.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const cpuBefore = cpuReading(run.service.child.pid);
      const started = performance.now();
      await lock.query('COMMIT');
      const deadline = Date.now() + 600_000;
      for (;;) {
        const stats = await infra.client.hget(`sluice:{${STREAM}}:stats`, 'backlogRecords');
        if (Number(stats ?? 0) === 0) break;
        if (Date.now() > deadline || run.phase.signal.aborted)
          throw new Error('delivery did not finish');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      seconds.push((performance.now() - started) / 1000);
      cpu.push(cpuSince(cpuBefore, cpuReading(run.service.child.pid)));
      const counted = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.events`);
      const loaded = Number(counted.rows[0]?.n);
      if (loaded !== expected) throw new Error(`loaded ${loaded} rows, expected ${expected}`);
    }
    return { seconds, cpu, expected, cpuShare: run.procs.cpuShares() };
  } finally {
    lock.release();
    await run.close();
  }
}
