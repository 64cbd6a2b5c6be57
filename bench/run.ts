/**
 * `npm run bench`: measures, in one run on this machine, the ceiling of a bare fastify endpoint,
 * Sluice's acknowledged ingest, sustained end-to-end delivery to S3 with its freshness, delivery
 * to an HTTP endpoint beside a bare POST, the transform host and the partitioning stage beside
 * their bare work, end-to-end delivery with a transform beside without, each compression format
 * through Sluice's compress stage beside its bare codec, JSON → Parquet conversion beside
 * parquetjs-lite alone, the service's memory, and (among others) Sluice on one Redis, a replicated
 * pair and a Redis Cluster, then prints them against the targets. See docs/benchmark.md.
 *
 * Exits 0 whatever the figures are (a bench is not a test); 1 when a phase could not run or a
 * process crashed, 2 on bad options, 130 when interrupted.
 */
import { writeFile } from 'node:fs/promises';

import { runCeilingPhase } from './ceiling-phase.js';
import { runClusterPhase } from './cluster-phase.js';
import { runCli } from './cli.js';
import { runCompressionPhase } from './compression-phase.js';
import { runPostgresPhase } from './postgres-phase.js';
import { runHttpPhase, runHttpReference } from './http-phase.js';
import { cleanUpAll } from '../devtools/children.js';
import type { BenchContext } from './context.js';
import { runIngestPhase } from './ingest-phase.js';
import { runOpenSearchPhase } from './opensearch-phase.js';
import { startInfrastructure, type Infrastructure } from './infrastructure.js';
import { describeMachine } from './machine.js';
import { helpText, parseOptions, type BenchOptions, type Phase } from './options.js';
import { runParquetPhase } from './parquet-phase.js';
import { runPartitionPhase } from './partition-phase.js';
import { say } from './progress.js';
import { prepareBodies, RECORDS_PER_REQUEST, type PreparedBody } from './records.js';
import { renderReport, type BenchResults, type PhaseOutcome, type SetupInfo } from './report.js';
import { assertSluiceBuilt, passedThroughSettings } from './sluice-process.js';
import { runReplicasPhase } from './replicas-phase.js';
import { runProcessesPhase } from './processes-phase.js';
import { runStreamsPhase } from './streams-phase.js';
import { runSustainedPhase } from './sustained-phase.js';
import { runTransformE2ePhase } from './transform-e2e-phase.js';
import { runTransformPhase } from './transform-phase.js';

/** One stream per phase, so S3 objects and counters of different phases never mix. */
const STREAMS = {
  ingest: 'bench-ingest',
  sustained: 'bench-sustained',
  split: 'bench-split',
  http: 'bench-http',
  opensearch: 'bench-opensearch',
  e2ePlain: 'bench-e2e-plain',
  e2eTransform: 'bench-e2e-transform',
  replicas: 'bench-replicas',
  processes: 'bench-processes',
} as const;

/** The phases that run against Redis, s3rver and Sluice processes. */
const SERVICE_PHASES: readonly Phase[] = [
  'ingest',
  'sustained',
  'split',
  'http',
  'opensearch',
  'transform-e2e',
  'postgres',
  'replicas',
  'processes',
  'streams',
  'cluster',
];

/**
 * Runs a phase, turning any failure into a reported outcome, so one broken phase still leaves
 * the others' figures; a phase cut short by Ctrl-C is reported as interrupted.
 */
async function attempt<T>(
  signal: AbortSignal,
  name: string,
  phase: () => Promise<T>,
): Promise<PhaseOutcome<T>> {
  try {
    return { status: 'ok', value: await phase() };
  } catch (error) {
    if (signal.aborted) return { status: 'interrupted' };
    const message = error instanceof Error ? error.message : String(error);
    say(`${name} failed: ${message.split('\n')[0] ?? ''}`);
    return { status: 'failed', error: message };
  }
}

function setupInfo(
  options: BenchOptions,
  bodies: readonly PreparedBody[],
  infra: Infrastructure | undefined,
): SetupInfo {
  const records = bodies.reduce((sum, b) => sum + b.recordBytes.length, 0);
  const payload = bodies.reduce((sum, b) => sum + b.payloadBytes, 0);
  const body = bodies.reduce((sum, b) => sum + b.buffer.length, 0);
  return {
    machine: describeMachine(),
    node: process.version,
    redis: infra ? `redis ${infra.redisVersion}` : 'redis not started',
    persistence: infra?.redis.description ?? `would use ${options.redisPersistence} persistence`,
    recordsPerRequest: RECORDS_PER_REQUEST,
    recordMeanBytes: records === 0 ? 0 : payload / records,
    payloadPerRequestKiB: payload / bodies.length / 1024,
    bodyPerRequestKiB: body / bodies.length / 1024,
    bodies: options.bodies,
    seed: options.seed,
    concurrency: options.concurrency,
    warmupS: options.warmupS,
    durationS: options.durationS,
    rateMibS: options.rateMibS,
    sustainS: options.sustainS,
    maxInFlight: options.maxInFlight,
    sizeMb: options.sizeMb,
    intervalS: options.intervalS,
    maxBacklogMb: options.maxBacklogMb,
    streamsCount: options.streamsCount,
    passedThrough: passedThroughSettings(),
  };
}

async function bench(options: BenchOptions, signal: AbortSignal): Promise<number> {
  // The in-process phases load Sluice's compiled modules too.
  if (options.phases.some((p) => p !== 'ceiling')) assertSluiceBuilt();
  const needsSluice = options.phases.some((p) => SERVICE_PHASES.includes(p));

  const bodyCache = new Map<string, PreparedBody[]>();
  const ctx: BenchContext = {
    options,
    identity: {
      accessKeyId: process.env.SLUICE_BENCH_ACCESS_KEY_ID ?? 'AKIDEXAMPLE',
      secretAccessKey: process.env.SLUICE_BENCH_SECRET_ACCESS_KEY ?? 'bench-secret',
      region: 'us-east-1',
    },
    signal,
    bodiesFor(stream) {
      let bodies = bodyCache.get(stream);
      if (!bodies) {
        bodies = prepareBodies(stream, options.bodies, options.seed);
        bodyCache.set(stream, bodies);
      }
      return bodies;
    },
  };

  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    setup: setupInfo(options, ctx.bodiesFor(STREAMS.ingest), undefined),
    ceiling: { status: 'skipped' },
    ingest: { status: 'skipped' },
    sustained: { status: 'skipped' },
    split: { status: 'skipped' },
    httpReference: { status: 'skipped' },
    http: { status: 'skipped' },
    opensearch: { status: 'skipped' },
    transform: { status: 'skipped' },
    partition: { status: 'skipped' },
    transformE2e: { status: 'skipped' },
    compression: { status: 'skipped' },
    parquet: { status: 'skipped' },
    postgres: { status: 'skipped' },
    replicas: { status: 'skipped' },
    processes: { status: 'skipped' },
    streams: { status: 'skipped' },
    cluster: { status: 'skipped' },
  };
  const wanted = (phase: Phase): boolean => options.phases.includes(phase) && !signal.aborted;
  let infra: Infrastructure | undefined;
  try {
    if (wanted('ceiling')) {
      results.ceiling = await attempt(signal, 'ceiling', () =>
        runCeilingPhase(ctx, STREAMS.ingest),
      );
    }
    if (wanted('transform')) {
      results.transform = await attempt(signal, 'transform', () => runTransformPhase(ctx));
    }
    if (wanted('partition')) {
      results.partition = await attempt(signal, 'partition', () => runPartitionPhase(ctx));
    }
    if (needsSluice && !signal.aborted) {
      say(`starting redis-server (${options.redisPersistence} persistence) and s3rver`);
      const started = await attempt(signal, 'infrastructure', () =>
        startInfrastructure(options.redisPersistence),
      );
      if (started.status === 'ok') {
        infra = started.value;
        results.setup = setupInfo(options, ctx.bodiesFor(STREAMS.ingest), infra);
        const ready = infra;
        if (wanted('ingest')) {
          results.ingest = await attempt(signal, 'ingest', () =>
            runIngestPhase(ctx, ready, 'all', STREAMS.ingest),
          );
        }
        if (wanted('sustained')) {
          results.sustained = await attempt(signal, 'sustained', () =>
            runSustainedPhase(ctx, ready, STREAMS.sustained),
          );
        }
        if (wanted('split')) {
          results.split = await attempt(signal, 'split', () =>
            runIngestPhase(ctx, ready, 'split', STREAMS.split),
          );
        }
        if (wanted('http')) {
          // The reference first, so a Sluice that cannot deliver still leaves its figures.
          results.httpReference = await attempt(signal, 'http reference', () =>
            runHttpReference(ctx, STREAMS.http),
          );
          if (!signal.aborted) {
            results.http = await attempt(signal, 'http', () =>
              runHttpPhase(ctx, ready, STREAMS.http),
            );
          }
        }
        if (wanted('opensearch')) {
          results.opensearch = await attempt(signal, 'opensearch', () =>
            runOpenSearchPhase(ctx, ready, STREAMS.opensearch),
          );
        }
        if (wanted('postgres')) {
          results.postgres = await attempt(signal, 'postgres', () => runPostgresPhase(ctx, ready));
        }
        if (wanted('replicas')) {
          results.replicas = await attempt(signal, 'replicas', () =>
            runReplicasPhase(ctx, ready, STREAMS.replicas),
          );
        }
        if (wanted('processes')) {
          results.processes = await attempt(signal, 'processes', () =>
            runProcessesPhase(ctx, ready, STREAMS.processes),
          );
        }
        if (wanted('transform-e2e')) {
          results.transformE2e = await attempt(signal, 'transform-e2e', () =>
            runTransformE2ePhase(ctx, ready, {
              plain: STREAMS.e2ePlain,
              transformed: STREAMS.e2eTransform,
            }),
          );
        }
        if (wanted('streams')) {
          results.streams = await attempt(signal, 'streams', () => runStreamsPhase(ctx, ready));
        }
        if (wanted('cluster')) {
          results.cluster = await attempt(signal, 'cluster', () => runClusterPhase(ctx, ready));
        }
      } else {
        for (const phase of [
          'ingest',
          'sustained',
          'split',
          'http',
          'opensearch',
          'postgres',
          'replicas',
          'processes',
          'streams',
          'cluster',
        ] as const) {
          if (options.phases.includes(phase)) results[phase] = started;
        }
        if (options.phases.includes('transform-e2e')) results.transformE2e = started;
      }
    }
    if (wanted('compression')) {
      results.compression = await attempt(signal, 'compression', () => runCompressionPhase(ctx));
    }
    if (wanted('parquet')) {
      results.parquet = await attempt(signal, 'parquet', () => runParquetPhase(ctx));
    }
  } finally {
    say('stopping servers and removing temporary directories');
    await infra?.stop().catch(() => undefined);
    await cleanUpAll();
  }

  process.stdout.write(renderReport(results));
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify(results, null, 2)}\n`);
    say(`results written to ${options.json}`);
  }
  if (signal.aborted) {
    say('interrupted; the report covers the phases that finished');
    return 130;
  }
  const outcomes = [
    results.ceiling,
    results.ingest,
    results.sustained,
    results.split,
    results.httpReference,
    results.http,
    results.opensearch,
    results.transform,
    results.partition,
    results.transformE2e,
    results.compression,
    results.parquet,
    results.postgres,
    results.replicas,
    results.processes,
    results.streams,
    results.cluster,
  ];
  // A side of the streams phase whose service failed is a crashed process, as a failed phase.
  const streamsSideFailed =
    results.streams.status === 'ok' &&
    [results.streams.value.few, results.streams.value.many].some((s) => s.status === 'failed');
  // So is a paced run of the processes phase that failed beside the phase's other figures.
  const processesRunFailed =
    results.processes.status === 'ok' &&
    [results.processes.value.halfLoad, results.processes.value.sustained].some(
      (r) => r.status === 'failed',
    );
  // And a setup of the cluster phase whose Redis or service failed.
  const clusterSetupFailed =
    results.cluster.status === 'ok' &&
    results.cluster.value.setups.some((s) => s.status === 'failed');
  return outcomes.some((o) => o.status === 'failed') ||
    streamsSideFailed ||
    processesRunFailed ||
    clusterSetupFailed
    ? 1
    : 0;
}

runCli({
  name: 'bench',
  parse: (argv) => parseOptions(argv),
  help: helpText,
  stopping: 'stopping the load and cleaning up',
  run: bench,
});
