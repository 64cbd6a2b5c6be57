import { nowMs } from './clock.js';
import type { MeasuredLoad } from './delivery-load.js';
import type { DeliveryRun } from './delivery-run.js';
import type { DeliveryWait } from './delivery-wait.js';

/** What a delivery phase with a target reports about its run, beside the target's figures. */
export interface DeliveryRunFigures {
  /** From the end of the load until the stream's counters showed every record done. */
  settledAfterS: number | undefined;
  deadRecords: number;
  rssMaxMib: Record<string, number | undefined>;
  /**
   * Average CPU per process while Sluice delivered after the load, as a share of one core
   * (over the whole phase when too little was left to deliver after the load).
   */
  cpuShare: Record<string, number | undefined>;
  /** Average CPU per process during the load. */
  ingestCpuShare: Record<string, number | undefined>;
  problems: string[];
}

/**
 * The run's figures; `drainEndMs`, when the phase measured a drain rate, is when the target
 * took the last record, which ends the window of {@link DeliveryRunFigures.cpuShare}.
 */
export function deliveryRunFigures(
  run: DeliveryRun,
  { load, loadEndMs }: MeasuredLoad,
  { settledAt, last }: DeliveryWait,
  drainEndMs: number | undefined,
): DeliveryRunFigures {
  const cpuFrom = drainEndMs === undefined ? load.startMs : loadEndMs;
  const cpuTo = drainEndMs ?? settledAt?.atMs ?? nowMs();
  return {
    settledAfterS: settledAt ? Math.max(0, settledAt.atMs - loadEndMs) / 1000 : undefined,
    deadRecords: last?.deadRecords ?? 0,
    rssMaxMib: run.procs.maxRssMib(),
    cpuShare: run.procs.cpuShares(cpuFrom, cpuTo),
    ingestCpuShare: run.procs.cpuShares(load.startMs, load.endMs),
    problems: run.service.problems.map((line) => `${run.service.child.name}: ${line}`),
  };
}
