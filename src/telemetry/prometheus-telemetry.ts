import { counterField, DURABLE, histogramFields } from './durable-families.js';
import type { DurableCounters } from './durable-counters.js';
import type { Telemetry, TelemetryEvent } from './events.js';
import type { ProcessMetrics } from './metrics-registry.js';

/**
 * Telemetry that turns events into metrics: deployment-wide counts into the durable counters
 * (written to Redis in batches, see {@link DurableCounters}), per-process timings into this
 * process's registry. One event is a request or a batch attempt, never a record, and costs a
 * few map updates.
 */
export class PrometheusTelemetry implements Telemetry {
  constructor(
    private readonly counters: DurableCounters,
    private readonly local: ProcessMetrics,
  ) {}

  emit(event: TelemetryEvent): void {
    const add = (stream: string, field: string, amount: number) =>
      this.counters.add(stream, field, amount);
    switch (event.type) {
      case 'records.received':
        add(event.stream, counterField(DURABLE.incomingRecords), event.records);
        add(event.stream, counterField(DURABLE.incomingBytes), event.bytes);
        add(event.stream, counterField(DURABLE.incomingPutRequests), 1);
        return;
      case 'records.throttled':
        add(event.stream, counterField(DURABLE.throttledRecords), event.records);
        return;
      case 'delivery.succeeded': {
        const labels = [event.destination];
        add(event.stream, counterField(DURABLE.deliveryRecords, labels), event.records);
        add(event.stream, counterField(DURABLE.deliveryBytes, labels), event.bytes);
        add(event.stream, counterField(DURABLE.deliverySuccess, labels), 1);
        const fields = histogramFields(
          DURABLE.deliveryFreshness,
          labels,
          Math.max(0, event.freshnessMs) / 1000,
        );
        add(event.stream, fields.bucket, 1);
        add(event.stream, fields.sumMs, Math.max(0, Math.round(event.freshnessMs)));
        return;
      }
      case 'delivery.failed':
        add(
          event.stream,
          counterField(DURABLE.deliveryFailedRecords, [
            event.destination,
            event.stage,
            event.code,
            String(event.retrying),
          ]),
          event.records,
        );
        if (event.retrying) {
          add(event.stream, counterField(DURABLE.deliveryRetries, [event.destination]), 1);
        }
        return;
      case 'error-output.written':
        add(
          event.stream,
          counterField(DURABLE.errorOutputRecords, [event.errorOutputType]),
          event.records,
        );
        add(event.stream, counterField(DURABLE.errorOutputObjects, [event.errorOutputType]), 1);
        return;
      case 'backup.written':
        add(event.stream, counterField(DURABLE.backupRecords), event.records);
        add(event.stream, counterField(DURABLE.backupBytes), event.bytes);
        add(event.stream, counterField(DURABLE.backupObjects), 1);
        return;
      case 'batch.dead-lettered':
        // Counted exactly by the DEAD_LETTER script in the stream's stats hash, which the
        // scrape reads (sluice_dead_lettered_*); counting the event too would only repeat it.
        return;
      case 'processing.completed':
        add(event.stream, counterField(DURABLE.processingInvocations), event.invocations);
        add(event.stream, counterField(DURABLE.processingRecordsIn), event.recordsIn);
        add(event.stream, counterField(DURABLE.processingSucceededRecords), event.recordsOut);
        add(event.stream, counterField(DURABLE.processingSucceededBytes), event.bytesOut);
        add(event.stream, counterField(DURABLE.processingDroppedRecords), event.dropped);
        add(event.stream, counterField(DURABLE.processingFailedRecords), event.failed);
        if (event.invocations > 0) {
          this.local.processingDuration.observe({ stream: event.stream }, event.transformMs / 1000);
        }
        return;
      case 'processing.failed':
        add(event.stream, counterField(DURABLE.processingFailures, [event.code]), 1);
        return;
      case 'api.answered':
        this.local.apiRequestDuration.observe(
          { operation: event.operation, outcome: event.outcome },
          event.durationMs / 1000,
        );
        return;
      case 'partitions.written':
        // Per-partition throughput is not exported: partition values are unbounded labels.
        add(event.stream, counterField(DURABLE.partitionLimitExceeded), event.overLimitRecords);
        return;
    }
  }
}
