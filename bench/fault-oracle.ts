/**
 * `npm run oracle`: pushes records of unique ids through Sluice (separate api and worker
 * processes, Redis with `appendfsync always`, s3rver behind a fault proxy) while killing
 * processes and breaking S3 at random moments, then checks that every acknowledged record was
 * delivered exactly once, byte for byte, and that nothing else was. See docs/fault-oracle.md.
 *
 * Exits 0 when the check passes; 1 when a record was lost, duplicated or corrupted, something
 * unexpected was delivered, the drain timed out or the run could not finish; 2 on bad options;
 * 130 when interrupted.
 */
import { cleanUpAll } from '../devtools/children.js';
import { runCli } from './cli.js';
import { BENCH_BUCKET } from './control-plane.js';
import { waitForDrain, type DrainResult } from './fault-drain.js';
import { Ledger } from './fault-ledger.js';
import { oracleHelpText, parseOracleOptions, type OracleOptions } from './fault-options.js';
import { runProducers, type ProducerProgress } from './fault-producers.js';
import { RecordShape } from './fault-records.js';
import { judge, renderOracleReport, type OracleResults } from './fault-report.js';
import { FaultScheduler } from './fault-scheduler.js';
import { ORACLE_STREAM, Topology } from './fault-topology.js';
import { verifyDelivery, type Verdict } from './fault-verify.js';
import { say } from './progress.js';
import { describeMachine } from './machine.js';
import { assertSluiceBuilt, passedThroughSettings } from './sluice-process.js';
import { readStreamStats } from './stream-stats.js';

/**
 * Service settings the oracle chooses unless the environment sets them: quick retries and
 * sweeps, so recovery after each fault takes seconds and the run measures correctness rather
 * than waiting out production back-offs.
 */
const SERVICE_DEFAULTS: Readonly<Record<string, string>> = {
  SLUICE_RETRY_BASE_MS: '200',
  SLUICE_RETRY_MAX_MS: '2000',
  SLUICE_SWEEP_AFTER_MS: '2000',
};
const PROGRESS_EVERY_MS = 10_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Prints a line every {@link PROGRESS_EVERY_MS} while pushing; returns a stop function. */
function startProgress(
  topology: Topology,
  ledger: Ledger,
  progress: ProducerProgress,
  scheduler: FaultScheduler,
  startMs: number,
): () => void {
  let lastAcked = 0;
  let lastMs = startMs;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const now = Date.now();
    const rate = ((ledger.totals.acked - lastAcked) / (now - lastMs)) * 1000;
    lastAcked = ledger.totals.acked;
    lastMs = now;
    void (async () => {
      let backlog = 'backlog unknown (Redis down)';
      try {
        await topology.checkRedis();
        const stats = await readStreamStats(topology.redis, ORACLE_STREAM);
        backlog = `backlog ${stats.backlogRecords.toLocaleString('en-US')} records, delivered ${stats.deliveredRecords.toLocaleString('en-US')}`;
      } catch {
        // Redis is down during a fault; the next line will say more.
      }
      say(
        `pushing ${((now - startMs) / 1000).toFixed(0)} s: ${ledger.totals.acked.toLocaleString('en-US')} acked (${Math.round(rate).toLocaleString('en-US')}/s), ${ledger.totals.failed} failed, ${ledger.totals.ambiguous} ambiguous, ${scheduler.events.length} faults, ${backlog}`,
      );
    })().finally(() => {
      busy = false;
    });
  }, PROGRESS_EVERY_MS);
  return () => clearInterval(timer);
}

async function run(options: OracleOptions, signal: AbortSignal): Promise<OracleResults> {
  const startedMs = Date.now();
  const shape = new RecordShape(options.seed, options.recordBytes);
  const ledger = new Ledger(Math.ceil(options.records * 1.1));
  const progress: ProducerProgress = { requests: 0, payloadBytes: 0, inFlightRecords: 0 };
  const results: OracleResults = {
    startedAt: new Date(startedMs).toISOString(),
    machine: describeMachine(),
    node: process.version,
    redis: 'redis not started',
    options,
    recordRange: [shape.minBytes, shape.maxBytes],
    buffering: Topology.buffering,
    passedThrough: passedThroughSettings(),
    pushStartMs: startedMs,
    pushS: 0,
    requests: 0,
    payloadBytes: 0,
    ledger,
    reachedTarget: false,
    faults: [],
    faultCounts: new Map(),
    proxy: { forwarded: 0, answered503: 0, reset: 0, delayed: 0 },
    drain: undefined,
    verdict: undefined,
    verifyS: 0,
    totalS: 0,
    crashes: [],
    problems: new Map(),
    error: undefined,
  };

  let topology: Topology | undefined;
  try {
    say(
      `starting redis-server (appendfsync always), s3rver, the S3 fault proxy, ${options.apis} api and ${options.workers} worker processes`,
    );
    topology = await Topology.start({
      apis: options.apis,
      workers: options.workers,
      maxBacklogMb: options.maxBacklogMb,
      connections: options.producers,
      identity: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'oracle-secret',
        region: 'us-east-1',
      },
    });
    results.redis = `redis ${topology.infra.redisVersion}`;
    const ready = topology;

    const pushStartMs = Date.now();
    results.pushStartMs = pushStartMs;
    const scheduler = new FaultScheduler(
      ready,
      options.faults,
      options.faultEveryS,
      options.seed,
      pushStartMs,
    );
    results.faults = scheduler.events;
    say(
      `pushing ${options.records.toLocaleString('en-US')} records with ${options.faults.length === 0 ? 'no faults' : `faults (${options.faults.join(', ')})`}`,
    );
    scheduler.start();
    const stopProgress = startProgress(ready, ledger, progress, scheduler, pushStartMs);
    try {
      await runProducers(
        {
          targets: () => ready.apiTargets(),
          ledger,
          shape,
          stream: ORACLE_STREAM,
          target: options.records,
          producers: options.producers,
          batchSize: options.batchSize,
          requestTimeoutMs: options.requestTimeoutS * 1000,
          deadlineMs: pushStartMs + options.timeoutS * 1000,
          shouldStop: () => signal.aborted || scheduler.fatal !== undefined,
        },
        progress,
      );
    } finally {
      stopProgress();
      results.pushS = (Date.now() - pushStartMs) / 1000;
      results.requests = progress.requests;
      results.payloadBytes = progress.payloadBytes;
      results.reachedTarget = ledger.totals.acked >= options.records;
      say(`pushing ended after ${results.pushS.toFixed(1)} s; ending the faults`);
      await scheduler.stop();
      results.faultCounts = scheduler.countByKind();
    }
    if (scheduler.fatal) throw scheduler.fatal;
    if (signal.aborted) throw new Error('interrupted');

    await ready.ensureRunning();
    say(`waiting up to ${options.drainTimeoutS} s for every stored record to be delivered`);
    const drain: DrainResult = await waitForDrain(
      ready.redis,
      ORACLE_STREAM,
      options.drainTimeoutS * 1000,
      () => signal.aborted,
    );
    results.drain = drain;
    if (signal.aborted) throw new Error('interrupted');
    say(
      drain.drained
        ? `drained after ${(drain.waitedMs / 1000).toFixed(1)} s; reading every object`
        : 'drain timed out; checking what was delivered anyway',
    );
    const verifyStart = Date.now();
    const verdict: Verdict = await verifyDelivery(ready.infra.s3, BENCH_BUCKET, ledger, shape);
    results.verdict = verdict;
    results.verifyS = (Date.now() - verifyStart) / 1000;
  } catch (error) {
    results.error = message(error);
    say(`run failed: ${results.error.split('\n')[0] ?? ''}`);
  } finally {
    if (topology) {
      results.proxy = { ...topology.proxy.counters };
      results.crashes = topology.crashes;
      results.problems = topology.problems;
    }
    say('stopping processes and removing temporary directories');
    await topology?.stop().catch(() => undefined);
    await cleanUpAll();
    results.totalS = (Date.now() - startedMs) / 1000;
  }
  return results;
}

async function oracle(options: OracleOptions, signal: AbortSignal): Promise<number> {
  assertSluiceBuilt();
  for (const [name, value] of Object.entries(SERVICE_DEFAULTS)) process.env[name] ??= value;
  const results = await run(options, signal);
  process.stdout.write(renderOracleReport(results));
  if (signal.aborted) return 130;
  return judge(results).pass ? 0 : 1;
}

runCli({
  name: 'oracle',
  parse: parseOracleOptions,
  help: oracleHelpText,
  stopping: 'stopping and cleaning up',
  run: oracle,
});
