import type { FaultKind, OracleOptions } from './fault-options.js';
import type { DrainResult } from './fault-drain.js';
import type { Ledger, RequestInfo } from './fault-ledger.js';
import type { FaultEvent } from './fault-scheduler.js';
import type { S3ProxyCounters } from './fault-s3-proxy.js';
import type { Crash } from './fault-topology.js';
import type { Verdict } from './fault-verify.js';

/** Everything the oracle's report shows. */
export interface OracleResults {
  startedAt: string;
  machine: string;
  node: string;
  redis: string;
  options: OracleOptions;
  recordRange: readonly [number, number];
  buffering: { sizeMb: number; intervalSeconds: number };
  passedThrough: Record<string, string>;
  /** Epoch ms the pushing started; fault times count from here. */
  pushStartMs: number;
  pushS: number;
  requests: number;
  payloadBytes: number;
  ledger: Ledger;
  reachedTarget: boolean;
  faults: readonly FaultEvent[];
  faultCounts: Map<FaultKind, number>;
  proxy: S3ProxyCounters;
  drain: DrainResult | undefined;
  verdict: Verdict | undefined;
  verifyS: number;
  totalS: number;
  crashes: readonly Crash[];
  problems: ReadonlyMap<string, { count: number; example: string }>;
  /** Why the run could not finish, when it could not. */
  error: string | undefined;
}

/** Whether the run passed, and if not, why. */
export function judge(results: OracleResults): { pass: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const v = results.verdict;
  if (results.error !== undefined) reasons.push(`the run did not finish: ${results.error}`);
  if (results.drain && !results.drain.drained) {
    reasons.push('not everything was delivered before --drain-timeout');
  }
  if (v) {
    if (v.lost > 0) reasons.push(`${v.lost} acknowledged records lost`);
    if (v.duplicatedIds > 0) reasons.push(`${v.duplicatedIds} records duplicated`);
    if (v.corrupted > 0) reasons.push(`${v.corrupted} records corrupted`);
    if (v.unreadable > 0) reasons.push(`${v.unreadable} unreadable fragments`);
    if (v.unexpected > 0) reasons.push(`${v.unexpected} records nobody sent`);
  } else if (results.error === undefined) {
    reasons.push('the delivery was not checked');
  }
  return { pass: reasons.length === 0, reasons };
}

const MIB = 1024 * 1024;

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((part / whole) * 100).toFixed(2)} %`;
}

function at(results: OracleResults, epochMs: number): string {
  return `${((epochMs - results.pushStartMs) / 1000).toFixed(1)} s`;
}

function describeRequest(results: OracleResults, request: RequestInfo | undefined): string {
  if (!request) return 'request unknown';
  const sent = (request.sentMs - results.pushStartMs) / 1000;
  const answered = (request.answeredMs - results.pushStartMs) / 1000;
  const near = results.faults
    .filter((f) => f.atS >= sent - 20 && f.atS <= answered + 5)
    .map((f) => `${f.kind} at ${f.atS.toFixed(1)} s`);
  return `request #${request.index} (ids ${request.firstId}–${request.firstId + request.count - 1}) to ${request.api}, sent at ${sent.toFixed(1)} s, answered at ${answered.toFixed(1)} s; faults from 20 s before: ${near.length === 0 ? 'none' : near.join(', ')}`;
}

/** The report, as text for stdout. */
export function renderOracleReport(results: OracleResults): string {
  const o = results.options;
  const { ledger } = results;
  const lines: string[] = [];
  const push = (line = ''): void => {
    lines.push(line);
  };

  push('Sluice fault oracle');
  push('===================');
  push(`started      ${results.startedAt}`);
  push(`machine      ${results.machine}`);
  push(`node         ${results.node}; ${results.redis}, appendonly yes, appendfsync always`);
  push(
    `topology     ${o.apis} api + ${o.workers} worker processes; stream SizeInMBs ${results.buffering.sizeMb}, IntervalInSeconds ${results.buffering.intervalSeconds}, GZIP, s3rver behind the fault proxy`,
  );
  push(
    `load         ${n(o.records)} records to acknowledge, ${o.recordBytes} bytes mean (${results.recordRange[0]}–${results.recordRange[1]}), ${o.batchSize} per request, ${o.producers} producers, seed ${o.seed}`,
  );
  push(
    `faults       ${o.faults.length === 0 ? 'none' : o.faults.join(', ')}; one every ${o.faultEveryS} s on average`,
  );
  const passed = Object.entries(results.passedThrough)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  push(`service env  ${passed === '' ? '(defaults)' : passed}`);
  push();

  push('Pushing');
  push(
    `  duration               ${results.pushS.toFixed(1)} s${results.reachedTarget ? '' : '  (target NOT reached: --timeout or interrupted)'}`,
  );
  push(`  requests               ${n(results.requests)}; ids issued ${n(ledger.issued)}`);
  push(
    `  acknowledged           ${n(ledger.totals.acked)} records, ${n(Math.round(ledger.totals.acked / Math.max(results.pushS, 0.001)))} records/s, ${(results.payloadBytes / MIB / Math.max(results.pushS, 0.001)).toFixed(1)} MiB/s of payload`,
  );
  push(`  failed (error answer)  ${n(ledger.totals.failed)} records`);
  push(`  ambiguous (no answer)  ${n(ledger.totals.ambiguous)} records`);
  const reasons = [...ledger.reasons.entries()].sort((a, b) => b[1] - a[1]);
  for (const [reason, count] of reasons.slice(0, 12)) {
    push(`    ${n(count).padStart(10)}  ${reason}`);
  }
  push();

  const total = results.faults.length;
  push(`Faults injected: ${total}`);
  for (const [kind, count] of results.faultCounts) push(`  ${kind.padEnd(16)} ${count}`);
  const failedFaults = results.faults.filter((f) => f.error !== undefined);
  if (failedFaults.length > 0)
    push(`  (${failedFaults.length} could not be carried out; see the log)`);
  const p = results.proxy;
  push(
    `  S3 proxy: ${n(p.forwarded)} requests forwarded (${n(p.delayed)} delayed), ${n(p.answered503)} answered 503 SlowDown, ${n(p.reset)} connections reset`,
  );
  push();

  push('Drain');
  const d = results.drain;
  if (!d) push('  not reached');
  else {
    push(
      `  ${d.drained ? 'everything stored was delivered' : 'TIMED OUT with work left'} after ${(d.waitedMs / 1000).toFixed(1)} s`,
    );
    if (d.last) {
      const s = d.last.stats;
      push(
        `  Sluice counters: ${n(s.deliveredRecords)} records in ${n(s.deliveredBatches)} batches delivered, ${n(s.deadRecords)} dead-lettered, backlog ${n(s.backlogRecords)} records`,
      );
      push(
        `  Redis: open buffer ${d.last.openBuffer ? 'yes' : 'no'}, ${d.last.sealedNotQueued} sealed not queued, ${d.last.batchesInRedis} batches kept, jobs waiting ${d.last.jobs.waiting} / active ${d.last.jobs.active} / delayed ${d.last.jobs.delayed} / failed ${d.last.jobs.failed}`,
      );
    }
  }
  push();

  push('Delivery check');
  const v = results.verdict;
  if (!v) push('  not run');
  else {
    push(
      `  objects                ${n(v.objects)}, ${(v.storedBytes / MIB).toFixed(1)} MiB stored, ${(v.contentBytes / MIB).toFixed(1)} MiB of records`,
    );
    push(`  records found intact   ${n(v.recordsFound)}`);
    push(
      `  acked, exactly once    ${n(v.ackedExactlyOnce)} of ${n(ledger.totals.acked)} (${pct(v.ackedExactlyOnce, ledger.totals.acked)})`,
    );
    push(`  LOST                   ${n(v.lost)}`);
    push(
      `  DUPLICATED             ${n(v.duplicatedIds)} ids (${n(v.duplicatedAcked)} of them acked; ${n(v.extraCopies)} extra copies; from ${n(v.duplicatedRequests)} requests)`,
    );
    push(`  CORRUPTED              ${n(v.corrupted)}`);
    push(`  UNREADABLE             ${n(v.unreadable)}`);
    push(`  UNEXPECTED             ${n(v.unexpected)}`);
    push(
      `  failed, delivered      ${n(v.failedDelivered)} of ${n(ledger.totals.failed)} (allowed: at most once each)`,
    );
    push(
      `  ambiguous, delivered   ${n(v.ambiguousDelivered)} of ${n(ledger.totals.ambiguous)} (allowed: at most once each)`,
    );
    for (const range of v.samples.lost) {
      push(
        `  lost ids ${range.firstId}–${range.lastId}: ${describeRequest(results, range.request)}`,
      );
    }
    for (const dup of v.samples.duplicated) {
      push(
        `  duplicate id ${dup.id} (${dup.state}, ${dup.copies} copies) in ${dup.firstKey} and ${dup.secondKey}: ${describeRequest(results, dup.request)}`,
      );
    }
    for (const [label, list] of [
      ['corrupted', v.samples.corrupted],
      ['unreadable', v.samples.unreadable],
      ['unexpected', v.samples.unexpected],
    ] as const) {
      for (const s of list) push(`  ${label}: ${s.key} at byte ${s.offset} (id ${s.id})`);
    }
  }
  push();

  if (results.crashes.length > 0) {
    push(`Unexpected process exits: ${results.crashes.length}`);
    for (const crash of results.crashes) {
      push(`  ${at(results, crash.atMs)}: ${crash.name} exited (${crash.how}); last output:`);
      for (const line of crash.logTail.split('\n').slice(-8)) push(`      ${line.slice(0, 300)}`);
    }
    push();
  }

  if (results.problems.size > 0) {
    push('Warnings and errors the service logged (count, message)');
    const sorted = [...results.problems.entries()].sort((a, b) => b[1].count - a[1].count);
    for (const [message, { count }] of sorted.slice(0, 15)) {
      push(`  ${n(count).padStart(8)}  ${message.slice(0, 160)}`);
    }
    push();
  }

  push(
    `Time: pushing ${results.pushS.toFixed(1)} s, draining ${((d?.waitedMs ?? 0) / 1000).toFixed(1)} s, checking ${results.verifyS.toFixed(1)} s, total ${results.totalS.toFixed(1)} s`,
  );
  push();
  push('Fault log (seconds since the pushing started)');
  if (results.faults.length === 0) push('  none');
  for (const f of results.faults) {
    push(
      `  ${f.atS.toFixed(1).padStart(8)} s  ${f.kind.padEnd(15)} ${f.detail}${f.error ? `  FAILED: ${f.error}` : ''}`,
    );
  }
  push();
  const { pass, reasons: why } = judge(results);
  push(pass ? 'RESULT: PASS' : `RESULT: FAIL (${why.join('; ')})`);
  return `${lines.join('\n')}\n`;
}
