import { SETTINGS } from '../src/config/env.js';
import type { PreparedBody } from './records.js';
import { passedThroughSettings } from './sluice-process.js';
import { MIB } from './stats.js';

/**
 * The shape of a delivery phase's same-run reference, copied from Sluice's delivery so the two
 * compare: as many requests in flight as Sluice delivers at once, as many records a request as
 * a Sluice batch holds.
 */

/** Sluice's delivery concurrency in this run: the passed-through setting or its default. */
export function deliveryConcurrency(): number {
  const text =
    passedThroughSettings().SLUICE_DELIVERY_CONCURRENCY ??
    SETTINGS.SLUICE_DELIVERY_CONCURRENCY.default;
  const value = Number(text);
  return Number.isInteger(value) && value > 0
    ? value
    : Number(SETTINGS.SLUICE_DELIVERY_CONCURRENCY.default);
}

/**
 * Records per batch Sluice seals from these bodies at `sizeMb`: it appends a request's records
 * whole and seals once the buffer reaches the size, so a batch is that many requests' records.
 */
export function recordsPerBatch(templates: readonly PreparedBody[], sizeMb: number): number {
  let bytes = 0;
  let records = 0;
  for (let i = 0; bytes < sizeMb * MIB; i += 1) {
    const body = templates[i % templates.length];
    if (body === undefined || body.payloadBytes === 0) break;
    bytes += body.payloadBytes;
    records += body.recordBytes.length;
  }
  return records;
}
