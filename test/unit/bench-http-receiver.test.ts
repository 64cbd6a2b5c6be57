import { afterEach, describe, expect, it } from 'vitest';

import { createServer, type Server } from 'node:http';

import { CONTENT_TYPE } from '../../bench/firehose-http.js';
import {
  accountRecords,
  recordsPerBatch,
  StampingFirehose,
  stampTemplates,
  type StampTemplate,
} from '../../bench/http-phase.js';
import {
  base64PayloadBytes,
  ReceiverState,
  SEQ_PREFIX_BASE64_CHARS,
  SEQ_PREFIX_BYTES,
  SeqBytes,
  seqOfData,
  seqOfRecord,
  seqPrefix,
  startBenchReceiver,
  writeSeqBase64,
  MAX_STAMPED_SEQ,
  type BenchReceiverServer,
} from '../../bench/http-receiver.js';
import { prepareBodies } from '../../bench/records.js';
import { Signer, sha256Hex } from '../../bench/sigv4.js';
import { listenOnLoopback } from '../support/free-port.js';

const KEY = 'bench-key';

/** A record with sequence number `seq`, as the bench sends it. */
function record(seq: number, rest = ',"x":1}\n'): Buffer {
  return Buffer.concat([seqPrefix(seq), Buffer.from(rest)]);
}

function body(requestId: string, seqs: readonly number[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      requestId,
      timestamp: 1,
      records: seqs.map((s) => ({ data: record(s).toString('base64') })),
    }),
  );
}

describe('bench record sequence numbers', () => {
  it('reads back what was written, from the base64 prefix alone', () => {
    expect(SEQ_PREFIX_BYTES % 3).toBe(0);
    for (const seq of [0, 1, 499, 123_456_789]) {
      const data = record(seq).toString('base64');
      expect(seqPrefix(seq).toString('base64')).toHaveLength(SEQ_PREFIX_BASE64_CHARS);
      expect(seqOfData(data)).toBe(seq);
      expect(seqOfData(data.slice(0, SEQ_PREFIX_BASE64_CHARS))).toBe(seq);
      expect(seqOfRecord(record(seq))).toBe(seq);
    }
  });

  it('stamps the same base64 from its tables', () => {
    for (const seq of [
      0,
      1,
      9,
      10,
      99,
      100,
      999,
      1000,
      123_456_789,
      98_765_432_101_234,
      MAX_STAMPED_SEQ,
    ]) {
      const target = Buffer.alloc(SEQ_PREFIX_BASE64_CHARS + 2, 0x2e);
      writeSeqBase64(target, 1, seq);
      expect(target.toString('latin1')).toBe(`.${seqPrefix(seq).toString('base64')}.`);
    }
    expect(() => writeSeqBase64(Buffer.alloc(40), 0, MAX_STAMPED_SEQ + 1)).toThrow(RangeError);
    expect(() => writeSeqBase64(Buffer.alloc(40), 0, -1)).toThrow(RangeError);
  });

  it('finds none in other records', () => {
    expect(seqOfData(Buffer.from('{"event_id":"abc","more":"data here"}').toString('base64'))).toBe(
      undefined,
    );
    expect(seqOfData('')).toBe(undefined);
    expect(seqOfRecord(Buffer.from('{"seq":"00000000000000x"}'))).toBe(undefined);
  });

  it('counts decoded bytes from the base64 length', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 500]) {
      const text = Buffer.alloc(length, 7).toString('base64');
      expect(base64PayloadBytes(text)).toBe(length);
    }
  });
});

describe('ReceiverState', () => {
  it('accepts a Firehose body, echoing its request id, and tallies its records', () => {
    const state = new ReceiverState({ accessKey: KEY, failEvery: 0 });
    const answer = state.handle('POST', KEY, undefined, body('r1', [0, 1, 2]), 1234);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ requestId: 'r1', timestamp: 1234 });
    state.handle('POST', KEY, undefined, body('r2', [2, 5]), 1300);
    const t = state.tallies();
    expect(t.counters).toMatchObject({
      requests: 2,
      acceptedRequests: 2,
      acceptedRecords: 5,
      acceptedBytes: 5 * record(0).length,
      failedRequests: 0,
      firstRequestMs: 1234,
      lastAcceptedMs: 1300,
    });
    expect([...t.accepted]).toEqual([1, 1, 2, 0, 0, 1]);
  });

  it('fails every n-th new request id, the first included, on every retry', () => {
    const state = new ReceiverState({ accessKey: KEY, failEvery: 3 });
    const send = (id: string, seqs: number[]) =>
      state.handle('POST', KEY, undefined, body(id, seqs), 1).status;
    expect(send('a', [0, 1])).toBe(500);
    expect(send('b', [2])).toBe(200);
    expect(send('a', [0, 1])).toBe(500);
    expect(send('c', [3])).toBe(200);
    // A repeat of an accepted id is not a new batch.
    expect(send('b', [2])).toBe(200);
    expect(send('d', [4, 5])).toBe(500);
    expect(send('e', [6])).toBe(200);
    expect(send('d', [4, 5])).toBe(500);
    expect(send('a', [0, 1])).toBe(500);
    const t = state.tallies();
    expect(t.counters).toMatchObject({
      requests: 9,
      failedRequests: 5,
      failedBatches: 2,
      failedBatchRecords: 4,
      acceptedRequests: 4,
      acceptedRecords: 4,
    });
    expect([...t.failed]).toEqual([1, 1, 0, 0, 1, 1, 0]);
    expect([...t.accepted]).toEqual([0, 0, 2, 1, 0, 0, 1]);
    const answer = state.handle('POST', KEY, undefined, body('a', [0, 1]), 7.9);
    expect(JSON.parse(answer.body)).toMatchObject({ requestId: 'a', timestamp: 7 });
  });

  it('refuses what is not a Firehose request to it', () => {
    const state = new ReceiverState({ accessKey: KEY, failEvery: 0 });
    expect(state.handle('POST', 'wrong', undefined, body('r', [0]), 1).status).toBe(401);
    expect(state.handle('POST', undefined, undefined, body('r', [0]), 1).status).toBe(401);
    expect(state.handle('GET', KEY, undefined, Buffer.alloc(0), 1).status).toBe(405);
    expect(state.handle('POST', KEY, undefined, Buffer.from('nope'), 1).status).toBe(400);
    expect(state.handle('POST', KEY, undefined, Buffer.from('{"records":[]}'), 1).status).toBe(400);
    expect(state.handle('POST', KEY, 'gzip', body('r', [0]), 1).status).toBe(400);
    expect(state.handle('POST', KEY, undefined, undefined, 1).status).toBe(413);
    expect(state.counters()).toMatchObject({ rejectedRequests: 7, acceptedRequests: 0 });
  });
});

describe('startBenchReceiver', () => {
  let server: BenchReceiverServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers over HTTP as the protocol wants', async () => {
    server = await startBenchReceiver({ accessKey: KEY, failEvery: 0 });
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': KEY },
      body: body('abc', [7, 8]),
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const answer = (await response.json()) as { requestId: string; timestamp: number };
    expect(answer.requestId).toBe('abc');
    expect(typeof answer.timestamp).toBe('number');
    expect(server.state.counters().acceptedRecords).toBe(2);
  });
});

describe('http phase helpers', () => {
  const templates: StampTemplate[] = stampTemplates('s', prepareBodies('s', 2, 1));

  it('puts a zero sequence number before every event, where the offsets say', () => {
    const first = templates[0] as StampTemplate;
    expect(first.dataOffsets).toHaveLength(500);
    const parsed = JSON.parse(first.buffer.toString('utf8')) as { Records: { Data: string }[] };
    parsed.Records.forEach(({ Data }, i) => {
      const bytes = Buffer.from(Data, 'base64');
      expect(seqOfRecord(bytes)).toBe(0);
      expect((JSON.parse(bytes.toString('utf8')) as { seq: string }).seq).toBe('0'.repeat(15));
      expect(
        first.buffer.toString('latin1', first.dataOffsets[i], (first.dataOffsets[i] ?? 0) + 4),
      ).toBe(Data.slice(0, 4));
      expect(first.recordBytes[i]).toBe(bytes.length);
    });
  });

  it('counts whole requests to a batch', () => {
    const perRequest = (templates[0] as StampTemplate).payloadBytes;
    expect(recordsPerBatch(templates, 1)).toBe(500 * Math.ceil((1024 * 1024) / perRequest));
  });

  it('finds lost, duplicated and misplaced records', () => {
    const states = new SeqBytes();
    // 0–5 acknowledged, 6 sent without acknowledgement.
    for (let seq = 0; seq <= 5; seq += 1) states.set(seq, 2);
    states.set(6, 1);
    const accepted = Uint8Array.from([1, 2, 0, 0, 0, 0, 1, 0, 1]);
    const failed = Uint8Array.from([0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const errors = new SeqBytes();
    errors.set(2, 1);
    errors.set(4, 1);
    const a = accountRecords({ states, next: 7 }, accepted, failed, errors);
    expect(a).toEqual({
      acknowledged: 6,
      accepted: 2,
      inErrorOutput: 2,
      lost: 2, // 3 (failed on purpose, missing from the error output) and 5
      duplicated: 1,
      unacknowledgedArrived: 1,
      errorNotDeliberate: 1,
      deliberateNotInErrorOutput: 1,
      neverSent: 1,
    });
  });
});

describe('StampingFirehose', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    server = undefined;
  });

  it('numbers every record of every request anew, re-signs, and remembers outcomes', async () => {
    const identity = { accessKeyId: 'AKID', secretAccessKey: 'secret', region: 'us-east-1' };
    const received: { body: Buffer; headers: Record<string, string | string[] | undefined> }[] = [];
    // The third request gets its record 3 refused, as a PutRecordBatch partial failure.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks), headers: req.headers });
        const partial = received.length === 3;
        const responses = Array.from({ length: 500 }, (_, i) =>
          partial && i === 3 ? { ErrorCode: 'ServiceUnavailableException' } : { RecordId: 'x' },
        );
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        res.end(
          JSON.stringify({
            FailedPutCount: partial ? 1 : 0,
            Encrypted: false,
            RequestResponses: responses,
          }),
        );
      });
    });
    const port = await listenOnLoopback(server);
    const url = `http://127.0.0.1:${port}`;
    const templates = stampTemplates('s', prepareBodies('s', 1, 1));
    const template = templates[0] as StampTemplate;
    const client = new StampingFirehose(url, identity, 2, templates);
    try {
      for (let i = 0; i < 3; i += 1) {
        expect((await client.putRecordBatch(template, 5_000)).status).toBe(200);
      }
    } finally {
      client.close();
    }
    expect(client.next).toBe(1500);
    received.forEach(({ body: sent, headers }, n) => {
      const parsed = JSON.parse(sent.toString('utf8')) as { Records: { Data: string }[] };
      expect(parsed.Records.map((r) => seqOfData(r.Data))).toEqual(
        Array.from({ length: 500 }, (_, i) => n * 500 + i),
      );
      const date = String(headers['x-amz-date']);
      const signed = new Signer(identity, `127.0.0.1:${port}`).sign(
        CONTENT_TYPE,
        String(headers['x-amz-target']),
        sha256Hex(sent),
        new Date(
          `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
        ),
      );
      expect(headers.authorization).toBe(signed.authorization);
    });
    const states = Array.from({ length: 1500 }, (_, seq) => client.states.at(seq));
    expect(states.filter((s) => s === 2)).toHaveLength(1499);
    expect(states[1003]).toBe(1);
  });
});
