import type { MetricsRedis } from './metrics-redis.js';
import { DURABLE_FAMILIES, parseField, type DurableFamily } from './durable-families.js';
import { familyHeader, labelSet, sampleValue } from './exposition.js';
import { TIMED_OUT, withinTime } from '../lifecycle/time-limit.js';

/** The keys of a stream that a scrape reads. */
export interface StreamMetricKeys {
  /** Hash of durable counters ({@link DurableCounters}). */
  metrics: string;
  /** Hash of the buffer's counters: backlog, completed, processed and dead batches. */
  stats: string;
  /** Sorted set of dead-lettered batches. */
  dead: string;
  /** Sorted set of open partition buffers. */
  partitions: string;
  /** Hash of the open buffer (`firstArrivalMs`). */
  open: string;
}

/** What {@link DeploymentMetrics} reads from. */
export interface DeploymentMetricsOptions {
  redis: MetricsRedis;
  /** Every stream's name. */
  streamNames: () => Promise<string[]>;
  keysOf: (stream: string) => StreamMetricKeys;
  /** `SLUICE_MAX_BACKLOG_MB` in bytes, for the backlog limit gauge. */
  backlogLimitBytes: number;
  /** Longest a scrape waits for Redis before answering without the deployment's series. */
  timeoutMs: number;
  /** Called when Redis could not be read (the scrape still answers). */
  onReadError: (error: unknown) => void;
  now?: () => number;
}

/** What one scrape read from Redis. */
interface Reading {
  streams: StreamReading[];
  /** INFO memory and persistence. */
  info: string;
  pingSeconds: number;
}

/** A scrape-time family read from a stream's stats hash. */
interface StatsFamily {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  field: string;
}

/**
 * Families read from the stats hash the buffer's scripts keep exactly (APPEND, COMPLETE,
 * DEAD_LETTER, COMMIT_PROCESSED): already durable and shared, so read, not counted again.
 */
const STATS_FAMILIES: readonly StatsFamily[] = [
  {
    name: 'sluice_backlog_bytes',
    type: 'gauge',
    help: 'Bytes of record data accepted and not yet delivered, written out or dead-lettered.',
    field: 'backlogBytes',
  },
  {
    name: 'sluice_backlog_records',
    type: 'gauge',
    help: 'Records accepted and not yet delivered, written out or dead-lettered.',
    field: 'backlogRecords',
  },
  {
    name: 'sluice_backlog_stored_bytes',
    type: 'gauge',
    help: 'Bytes the backlog holds in Redis, framing and per-batch overheads included: what SLUICE_MAX_BACKLOG_MB bounds.',
    field: 'backlogStoredBytes',
  },
  {
    name: 'sluice_batches_completed_total',
    type: 'counter',
    help: 'Batches finished: every record delivered or written to the error output, and the batch removed.',
    field: 'deliveredBatches',
  },
  {
    name: 'sluice_batches_completed_records_total',
    type: 'counter',
    help: 'Records of finished batches (delivered or written to the error output).',
    field: 'deliveredRecords',
  },
  {
    name: 'sluice_batches_completed_bytes_total',
    type: 'counter',
    help: 'Bytes of record data of finished batches.',
    field: 'deliveredBytes',
  },
  {
    name: 'sluice_batches_processed_total',
    type: 'counter',
    help: 'Batches that went through the processing stage into partition buffers.',
    field: 'processedBatches',
  },
  {
    name: 'sluice_dead_lettered_batches_total',
    type: 'counter',
    help: 'Batches moved to the dead set after their retention window ended undelivered.',
    field: 'deadBatches',
  },
  {
    name: 'sluice_dead_lettered_records_total',
    type: 'counter',
    help: 'Records of batches moved to the dead set.',
    field: 'deadRecords',
  },
];

/** What one stream's keys held at the scrape. */
interface StreamReading {
  stream: string;
  metrics: Record<string, string>;
  stats: (string | null)[];
  dead: number;
  partitions: number;
  openFirstArrivalMs: string | null;
}

/**
 * The deployment's metrics, read from Redis at scrape time: the durable counters of every
 * stream, the buffer's own counters and gauges (backlog, dead set, partitions, the open
 * buffer's age) and Redis's health. The same for whichever process is scraped, so aggregate
 * them across instances with `max`, not `sum`. One pipelined round trip per scrape.
 */
export class DeploymentMetrics {
  private readonly now: () => number;

  constructor(private readonly options: DeploymentMetricsOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The exposition text. When Redis cannot be read, only `sluice_redis_up 0` (and the
   * backlog limit): a scrape never fails because Redis does.
   */
  async render(): Promise<string> {
    let reading: Reading | typeof TIMED_OUT;
    try {
      reading = await withinTime(this.read(), this.options.timeoutMs);
    } catch (error) {
      this.options.onReadError(error);
      return this.unreachable();
    }
    if (reading === TIMED_OUT) {
      this.options.onReadError(
        new Error(`Redis did not answer within ${this.options.timeoutMs} ms`),
      );
      return this.unreachable();
    }
    const { streams, info, pingSeconds } = reading;
    return [
      this.redisHealth(pingSeconds, info),
      this.streamCount(streams.length),
      ...DURABLE_FAMILIES.map((family) => renderDurable(family, streams)),
      ...STATS_FAMILIES.map((family) => renderStats(family, streams)),
      this.gauges(streams),
    ].join('');
  }

  /** Every stream's keys and Redis's INFO, in one pipeline after a PING. */
  private async read(): Promise<Reading> {
    const { redis } = this.options;
    const started = performance.now();
    await redis.ping();
    const pingSeconds = (performance.now() - started) / 1000;
    const names = [...(await this.options.streamNames())].sort();
    const pipeline = redis.pipeline();
    for (const stream of names) {
      const keys = this.options.keysOf(stream);
      pipeline.hgetall(keys.metrics);
      pipeline.hmget(keys.stats, ...STATS_FAMILIES.map((f) => f.field));
      pipeline.zcard(keys.dead);
      pipeline.zcard(keys.partitions);
      pipeline.hget(keys.open, 'firstArrivalMs');
    }
    pipeline.info('memory');
    pipeline.info('persistence');
    const results = (await pipeline.exec()) ?? [];
    const value = (i: number): unknown => {
      const [error, result] = results[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      return result;
    };
    const streams = names.map((stream, s) => ({
      stream,
      metrics: value(s * 5) as Record<string, string>,
      stats: value(s * 5 + 1) as (string | null)[],
      dead: value(s * 5 + 2) as number,
      partitions: value(s * 5 + 3) as number,
      openFirstArrivalMs: value(s * 5 + 4) as string | null,
    }));
    const info = `${value(names.length * 5) as string}\n${value(names.length * 5 + 1) as string}`;
    return { streams, info, pingSeconds };
  }

  private unreachable(): string {
    return (
      familyHeader('sluice_redis_up', 'gauge', REDIS_UP_HELP) +
      'sluice_redis_up 0\n' +
      this.backlogLimit()
    );
  }

  private redisHealth(pingSeconds: number, info: string): string {
    const fields = new Map<string, string>();
    for (const line of info.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith('#'))
        fields.set(line.slice(0, colon), line.slice(colon + 1));
    }
    const number = (name: string) => Number(fields.get(name) ?? 'NaN');
    let text =
      familyHeader('sluice_redis_up', 'gauge', REDIS_UP_HELP) +
      'sluice_redis_up 1\n' +
      familyHeader(
        'sluice_redis_ping_seconds',
        'gauge',
        'Round trip of a PING to Redis from the scraped process.',
      ) +
      `sluice_redis_ping_seconds ${sampleValue(pingSeconds)}\n` +
      familyHeader(
        'sluice_redis_used_memory_bytes',
        'gauge',
        'Memory Redis uses (INFO used_memory).',
      ) +
      `sluice_redis_used_memory_bytes ${sampleValue(number('used_memory'))}\n` +
      familyHeader(
        'sluice_redis_maxmemory_bytes',
        'gauge',
        'Redis maxmemory (INFO maxmemory); 0 means no limit.',
      ) +
      `sluice_redis_maxmemory_bytes ${sampleValue(number('maxmemory'))}\n`;
    const aofEnabled = fields.get('aof_enabled');
    if (aofEnabled !== undefined) {
      text +=
        familyHeader(
          'sluice_redis_aof_enabled',
          'gauge',
          'Whether Redis writes an append-only file (1) or not (0): without it a Redis crash loses acknowledged records.',
        ) + `sluice_redis_aof_enabled ${aofEnabled === '1' ? 1 : 0}\n`;
    }
    const lastWrite = fields.get('aof_last_write_status');
    if (lastWrite !== undefined) {
      text +=
        familyHeader(
          'sluice_redis_aof_last_write_ok',
          'gauge',
          "Whether Redis's last append-only file write succeeded (1) or failed (0); 1 when it writes none.",
        ) + `sluice_redis_aof_last_write_ok ${lastWrite === 'ok' ? 1 : 0}\n`;
    }
    return text + this.backlogLimit();
  }

  private backlogLimit(): string {
    return (
      familyHeader(
        'sluice_backlog_limit_bytes',
        'gauge',
        'SLUICE_MAX_BACKLOG_MB of the scraped process, in bytes: the per-stream bound of sluice_backlog_stored_bytes.',
      ) + `sluice_backlog_limit_bytes ${this.options.backlogLimitBytes}\n`
    );
  }

  private streamCount(count: number): string {
    return (
      familyHeader(
        'sluice_streams',
        'gauge',
        'Delivery streams in the deployment (Firehose AWS/Usage ResourceCount).',
      ) + `sluice_streams ${count}\n`
    );
  }

  private gauges(readings: readonly StreamReading[]): string {
    const nowMs = this.now();
    let dead = familyHeader(
      'sluice_dead_set_batches',
      'gauge',
      'Batches in the dead set now (dead-lettered and not yet replayed).',
    );
    let partitions = familyHeader(
      'sluice_active_partitions',
      'gauge',
      'Open partition buffers of a dynamically partitioned stream (Firehose PartitionCount).',
    );
    let age = familyHeader(
      'sluice_open_buffer_age_seconds',
      'gauge',
      'Age of the oldest record in the stream buffer not yet sealed into a batch; 0 when it is empty.',
    );
    for (const reading of readings) {
      const labels = labelSet([['stream', reading.stream]]);
      dead += `sluice_dead_set_batches${labels} ${reading.dead}\n`;
      partitions += `sluice_active_partitions${labels} ${reading.partitions}\n`;
      const first = Number(reading.openFirstArrivalMs ?? NaN);
      const seconds = Number.isFinite(first) ? Math.max(0, nowMs - first) / 1000 : 0;
      age += `sluice_open_buffer_age_seconds${labels} ${sampleValue(seconds)}\n`;
    }
    return dead + partitions + age;
  }
}

const REDIS_UP_HELP = 'Whether the scraped process reached Redis (1) or not (0).';

/** A durable family's series for every stream, from the streams' counter hashes. */
function renderDurable(family: DurableFamily, readings: readonly StreamReading[]): string {
  let text = familyHeader(family.name, family.type, family.help);
  for (const reading of readings) {
    if (family.type === 'counter') {
      for (const [field, raw] of Object.entries(reading.metrics)) {
        const parsed = parseField(field);
        if (parsed?.family !== family) continue;
        text += `${family.name}${seriesLabels(family, reading.stream, parsed.values)} ${Number(raw)}\n`;
      }
      continue;
    }
    text += renderHistogram(family, reading);
  }
  return text;
}

/** A durable histogram's series of one stream: cumulative buckets, sum and count. */
function renderHistogram(family: DurableFamily, reading: StreamReading): string {
  const series = new Map<
    string,
    { values: string[]; buckets: Map<number, number>; sumMs: number }
  >();
  for (const [field, raw] of Object.entries(reading.metrics)) {
    const parsed = parseField(field);
    if (parsed?.family !== family) continue;
    const id = parsed.values.join('|');
    let entry = series.get(id);
    if (entry === undefined) {
      entry = { values: parsed.values, buckets: new Map(), sumMs: 0 };
      series.set(id, entry);
    }
    if (parsed.part === 'sum') entry.sumMs += Number(raw);
    else if (parsed.part !== undefined) {
      entry.buckets.set(parsed.part, (entry.buckets.get(parsed.part) ?? 0) + Number(raw));
    }
  }
  let text = '';
  const bounds = [...(family.buckets ?? []), Infinity];
  for (const entry of series.values()) {
    let cumulative = 0;
    for (const bound of bounds) {
      cumulative += entry.buckets.get(bound) ?? 0;
      const labels = seriesLabels(family, reading.stream, entry.values, sampleValue(bound));
      text += `${family.name}_bucket${labels} ${cumulative}\n`;
    }
    const labels = seriesLabels(family, reading.stream, entry.values);
    text += `${family.name}_sum${labels} ${sampleValue(entry.sumMs / 1000)}\n`;
    text += `${family.name}_count${labels} ${cumulative}\n`;
  }
  return text;
}

function seriesLabels(
  family: DurableFamily,
  stream: string,
  values: readonly string[],
  le?: string,
): string {
  const pairs: [string, string][] = [['stream', stream]];
  family.labels.forEach((name, i) => pairs.push([name, values[i] ?? '']));
  if (le !== undefined) pairs.push(['le', le]);
  return labelSet(pairs);
}

/** A stats family's series for every stream (0 where the stream has no such field yet). */
function renderStats(family: StatsFamily, readings: readonly StreamReading[]): string {
  const index = STATS_FAMILIES.indexOf(family);
  let text = familyHeader(family.name, family.type, family.help);
  for (const reading of readings) {
    const value = Number(reading.stats[index] ?? 0);
    text += `${family.name}${labelSet([['stream', reading.stream]])} ${Number.isFinite(value) ? value : 0}\n`;
  }
  return text;
}
