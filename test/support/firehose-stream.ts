import {
  CreateDeliveryStreamCommand,
  type FirehoseClient,
  type RedshiftDestinationConfiguration,
} from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';

import type { SluiceUnderTest } from '../conformance/sluice-under-test.js';
import { streamState } from '../conformance/stream-state.js';
import { eventually, putRecordBatch } from './e2e.js';
import { uniqueName } from './unique.js';

/**
 * Driving one delivery stream through the Firehose API in end-to-end tests: creating it, putting
 * records that must all be accepted, and waiting for its backlog to drain.
 */

/** Creates a DirectPut stream named `prefix` plus a unique suffix, delivering by `config`. */
export async function createRedshiftStream(
  client: FirehoseClient,
  config: RedshiftDestinationConfiguration,
  prefix: string,
): Promise<string> {
  const name = uniqueName(prefix);
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      DeliveryStreamType: 'DirectPut',
      RedshiftDestinationConfiguration: config,
    }),
  );
  return name;
}

/** Puts `records` in one PutRecordBatch and expects every one of them accepted. */
export async function putAccepted(
  client: FirehoseClient,
  stream: string,
  records: readonly string[],
): Promise<void> {
  const out = await putRecordBatch(client, stream, records);
  expect(out.FailedPutCount).toBe(0);
}

/**
 * Waits until `stream`'s backlog is empty and no batch is open, explaining a timeout with
 * `sluice`'s logs.
 */
export async function backlogDrained(
  redis: Redis,
  stream: string,
  sluice: SluiceUnderTest,
  timeoutMs = 30_000,
): Promise<void> {
  await eventually(
    `the backlog of ${stream} to drain`,
    async () => {
      const state = await streamState(redis, stream);
      return state.backlogRecords === 0 && !state.open;
    },
    { timeoutMs, state: () => sluice.logs() },
  );
}

/** `value` as one JSON record: its JSON text and a newline. */
export const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`;
