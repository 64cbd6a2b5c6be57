import { describe, expect, it } from 'vitest';
import { FirehoseApiError, type FirehoseClient } from '../../src/cli/firehose-client.js';
import { cutBatches } from '../../src/cli/put-batches.js';
import type { InputRecord } from '../../src/cli/put-input.js';
import { sendBatch } from '../../src/cli/put-sender.js';

/**
 * `sluice put`'s sending rules without a server: only entries with an ErrorCode are sent again,
 * whole-request refusals are sent again only when they may pass, attempts are bounded; and
 * batches keep Firehose's limits.
 */

type Answer = Record<string, unknown> | FirehoseApiError;

/** A client that answers from a script and records what each request carried. */
function scripted(answers: Answer[]): { client: FirehoseClient; sent: string[][] } {
  const sent: string[][] = [];
  const client = {
    call(_operation: string, input: { Records: { Data: string }[] }) {
      sent.push(input.Records.map((r) => Buffer.from(r.Data, 'base64').toString()));
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no answer scripted');
      if (answer instanceof FirehoseApiError) return Promise.reject(answer);
      return Promise.resolve(answer);
    },
  } as unknown as FirehoseClient;
  return { client, sent };
}

const records = (...texts: string[]): InputRecord[] =>
  texts.map((text, i) => ({ line: i + 1, data: Buffer.from(text) }));
const ok = { RecordId: 'id' };
const slowDown = { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
const noWait = () => Promise.resolve();

describe('sendBatch', () => {
  it('sends again only the entries answered with an ErrorCode', async () => {
    const { client, sent } = scripted([
      { FailedPutCount: 2, RequestResponses: [ok, slowDown, ok, slowDown] },
      { FailedPutCount: 1, RequestResponses: [slowDown, ok] },
      { FailedPutCount: 0, RequestResponses: [ok] },
    ]);
    const outcome = await sendBatch(records('a', 'b', 'c', 'd'), {
      client,
      stream: 's',
      maxAttempts: 5,
      wait: noWait,
    });
    expect(sent).toEqual([['a', 'b', 'c', 'd'], ['b', 'd'], ['b']]);
    expect(outcome).toEqual({ sent: 4, failed: [], requests: 3, retried: 3 });
  });

  it('gives up after the last attempt, naming the lines and the last error', async () => {
    const { client, sent } = scripted([
      { FailedPutCount: 1, RequestResponses: [ok, slowDown] },
      { FailedPutCount: 1, RequestResponses: [slowDown] },
    ]);
    const outcome = await sendBatch(records('a', 'b'), {
      client,
      stream: 's',
      maxAttempts: 2,
      wait: noWait,
    });
    expect(sent).toEqual([['a', 'b'], ['b']]);
    expect(outcome).toEqual({
      sent: 1,
      failed: [{ line: 2, code: 'ServiceUnavailableException', message: 'Slow down.' }],
      requests: 2,
      retried: 1,
    });
  });

  it('sends a whole request again after a 5xx, but not after a refusal that cannot pass', async () => {
    const unavailable = new FirehoseApiError('Redis down', 503, 'ServiceUnavailableException');
    const passing = scripted([unavailable, { FailedPutCount: 0, RequestResponses: [ok] }]);
    expect(
      await sendBatch(records('a'), {
        client: passing.client,
        stream: 's',
        maxAttempts: 3,
        wait: noWait,
      }),
    ).toEqual({ sent: 1, failed: [], requests: 2, retried: 1 });

    const missing = new FirehoseApiError('no such stream', 400, 'ResourceNotFoundException');
    const final = scripted([missing]);
    await expect(
      sendBatch(records('a'), { client: final.client, stream: 's', maxAttempts: 3, wait: noWait }),
    ).rejects.toBe(missing);
    expect(final.sent).toHaveLength(1);

    const always = scripted([unavailable, unavailable]);
    await expect(
      sendBatch(records('a'), { client: always.client, stream: 's', maxAttempts: 2, wait: noWait }),
    ).rejects.toBe(unavailable);
  });

  it('waits longer before each new attempt, never more than 5 s', async () => {
    const waits: number[] = [];
    const { client } = scripted(
      Array.from({ length: 8 }, () => ({ FailedPutCount: 1, RequestResponses: [slowDown] })),
    );
    await sendBatch(records('a'), {
      client,
      stream: 's',
      maxAttempts: 8,
      wait: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(waits).toHaveLength(7);
    // Attempt n waits between half and all of min(5 s, 200 ms × 2^(n-2)).
    waits.forEach((ms, i) => {
      const ceiling = Math.min(5_000, 200 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
  });
});

describe('cutBatches', () => {
  it('cuts at 500 records and at 4 MiB of data', () => {
    const small = Array.from({ length: 1_001 }, () => ({ data: Buffer.alloc(1) }));
    expect(cutBatches(small).map((b) => b.length)).toEqual([500, 500, 1]);
    const big = Array.from({ length: 5 }, () => ({ data: Buffer.alloc(1_000_000) }));
    expect(cutBatches(big).map((b) => b.length)).toEqual([4, 1]);
    const exact = [{ data: Buffer.alloc(4 * 1024 * 1024 - 1) }, { data: Buffer.alloc(1) }];
    expect(cutBatches(exact).map((b) => b.length)).toEqual([2]);
    expect(cutBatches([...exact, { data: Buffer.alloc(1) }]).map((b) => b.length)).toEqual([2, 1]);
  });
});
