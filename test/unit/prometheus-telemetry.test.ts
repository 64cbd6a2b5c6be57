import { describe, expect, it } from 'vitest';

import type { DurableCounters } from '../../src/telemetry/durable-counters.js';
import { ProcessMetrics } from '../../src/telemetry/metrics-registry.js';
import { PrometheusTelemetry } from '../../src/telemetry/prometheus-telemetry.js';
import { parseExposition, sampleValue } from '../support/prometheus-text.js';

/** Telemetry over counters that only remember what was added, by `stream field`. */
function recording(): {
  telemetry: PrometheusTelemetry;
  added: Map<string, number>;
  local: ProcessMetrics;
} {
  const added = new Map<string, number>();
  const counters = {
    add: (stream: string, field: string, amount: number) => {
      const key = `${stream} ${field}`;
      added.set(key, (added.get(key) ?? 0) + amount);
    },
  } as unknown as DurableCounters;
  const local = new ProcessMetrics('worker');
  return { telemetry: new PrometheusTelemetry(counters, local), added, local };
}

describe('PrometheusTelemetry', () => {
  it('turns each event into the durable counts of its Firehose metrics', () => {
    const { telemetry, added, local } = recording();
    telemetry.emit({ type: 'records.received', stream: 's', records: 3, bytes: 30 });
    telemetry.emit({ type: 'records.received', stream: 's', records: 2, bytes: 5 });
    telemetry.emit({ type: 'records.throttled', stream: 's', records: 4 });
    telemetry.emit({
      type: 'delivery.succeeded',
      stream: 's',
      destination: 'HttpEndpoint',
      records: 5,
      bytes: 50,
      freshnessMs: 1500,
    });
    telemetry.emit({
      type: 'delivery.failed',
      stream: 's',
      destination: 'HttpEndpoint',
      stage: 'delivery',
      code: 'HttpEndpoint.DestinationException',
      records: 6,
      attempt: 2,
      retrying: true,
    });
    telemetry.emit({
      type: 'error-output.written',
      stream: 's',
      errorOutputType: 'http-endpoint-failed',
      records: 6,
    });
    telemetry.emit({ type: 'backup.written', stream: 's', records: 5, bytes: 50 });
    telemetry.emit({
      type: 'batch.dead-lettered',
      stream: 's',
      records: 9,
      code: 'S3.AccessDenied',
    });
    telemetry.emit({
      type: 'processing.completed',
      stream: 's',
      recordsIn: 10,
      recordsOut: 7,
      bytesOut: 70,
      dropped: 2,
      failed: 1,
      invocations: 2,
      transformMs: 250,
    });
    telemetry.emit({
      type: 'processing.failed',
      stream: 's',
      code: 'Lambda.FunctionError',
      records: 10,
    });
    telemetry.emit({
      type: 'partitions.written',
      stream: 's',
      partitions: 2,
      overLimitRecords: 3,
      perPartition: [{ keys: '{"a":"1"}', records: 1, bytes: 1 }],
    });
    expect(Object.fromEntries(added)).toEqual({
      's sluice_incoming_records_total': 5,
      's sluice_incoming_bytes_total': 35,
      's sluice_incoming_put_requests_total': 2,
      's sluice_throttled_records_total': 4,
      's sluice_delivery_records_total|HttpEndpoint': 5,
      's sluice_delivery_bytes_total|HttpEndpoint': 50,
      's sluice_delivery_success_total|HttpEndpoint': 1,
      's sluice_delivery_data_freshness_seconds|HttpEndpoint|le=2': 1,
      's sluice_delivery_data_freshness_seconds|HttpEndpoint|sum_ms': 1500,
      's sluice_delivery_failed_records_total|HttpEndpoint|delivery|HttpEndpoint.DestinationException|true': 6,
      's sluice_delivery_retries_total|HttpEndpoint': 1,
      's sluice_error_output_records_total|http-endpoint-failed': 6,
      's sluice_error_output_objects_total|http-endpoint-failed': 1,
      's sluice_backup_records_total': 5,
      's sluice_backup_bytes_total': 50,
      's sluice_backup_objects_total': 1,
      's sluice_processing_invocations_total': 2,
      's sluice_processing_input_records_total': 10,
      's sluice_processing_succeeded_records_total': 7,
      's sluice_processing_succeeded_bytes_total': 70,
      's sluice_processing_dropped_records_total': 2,
      's sluice_processing_failed_records_total': 1,
      's sluice_processing_failures_total|Lambda.FunctionError': 1,
      's sluice_partition_count_exceeded_records_total': 3,
    });
    local.close();
  });

  it("times transforms in this process's registry, labelled with its role", async () => {
    const { telemetry, local } = recording();
    const slice = {
      type: 'processing.completed',
      stream: 's',
      recordsIn: 1,
      recordsOut: 1,
      bytesOut: 1,
      dropped: 0,
      failed: 0,
      transformMs: 40,
    } as const;
    telemetry.emit({ ...slice, invocations: 1 });
    // Built-in processors only: no transform ran, nothing to time.
    telemetry.emit({ ...slice, invocations: 0 });
    const e = parseExposition(await local.render());
    const labels = { stream: 's', role: 'worker' };
    expect(sampleValue(e, 'sluice_processing_duration_seconds_count', labels)).toBe(1);
    expect(sampleValue(e, 'sluice_processing_duration_seconds_sum', labels)).toBe(0.04);
    expect(
      sampleValue(e, 'sluice_processing_duration_seconds_bucket', { ...labels, le: '0.05' }),
    ).toBe(1);
    expect(
      sampleValue(e, 'sluice_processing_duration_seconds_bucket', { ...labels, le: '0.025' }),
    ).toBe(0);
    local.close();
  });
});
