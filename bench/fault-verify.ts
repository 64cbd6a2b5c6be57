import { gunzipSync } from 'node:zlib';

import type { S3Server } from '../devtools/s3-server.js';
import { Outcome, type Ledger, type RequestInfo } from './fault-ledger.js';
import { parseRecordId, type RecordShape } from './fault-records.js';

/**
 * Reads every object the stream delivered and holds it against the ledger: each acknowledged
 * record must be there exactly once and byte for byte; each failed or ambiguous record at most
 * once; nothing else may be there.
 */

/** Where a record (or a fragment that is not one) was found. */
export interface Sighting {
  key: string;
  /** Byte offset in the object's (decompressed) content. */
  offset: number;
  id: number;
}

/** A run of consecutive lost ids, with the request that carried its first id. */
export interface LostRange {
  firstId: number;
  lastId: number;
  request: RequestInfo | undefined;
}

/** A record found more than once. */
export interface Duplicate {
  id: number;
  state: string;
  copies: number;
  firstKey: string;
  secondKey: string;
  request: RequestInfo | undefined;
}

/** What the check found. */
export interface Verdict {
  objects: number;
  /** Bytes as stored (compressed). */
  storedBytes: number;
  /** Bytes after decompression: the records as delivered. */
  contentBytes: number;
  /** Intact records found, copies included. */
  recordsFound: number;
  ackedExactlyOnce: number;
  /** Acknowledged records not found intact. */
  lost: number;
  /** Ids found intact more than once (any outcome). */
  duplicatedIds: number;
  /** Copies beyond the first, summed over duplicated ids. */
  extraCopies: number;
  /** Duplicated ids that had been acknowledged (the others were failed or ambiguous). */
  duplicatedAcked: number;
  /** Requests with at least one duplicated record. */
  duplicatedRequests: number;
  /** Records whose id parses but whose bytes differ from what was sent. */
  corrupted: number;
  /** Fragments that do not start like a record, or objects that do not decompress. */
  unreadable: number;
  /** Well-formed records with an id no producer ever sent. */
  unexpected: number;
  failedDelivered: number;
  failedNotDelivered: number;
  ambiguousDelivered: number;
  ambiguousNotDelivered: number;
  samples: {
    lost: LostRange[];
    duplicated: Duplicate[];
    corrupted: Sighting[];
    unreadable: Sighting[];
    unexpected: Sighting[];
  };
}

/** Examples kept per kind of problem. */
const MAX_SAMPLES = 10;
const NEWLINE = 0x0a;
const STATE_NAMES = ['never sent', 'acked', 'failed', 'ambiguous'] as const;

/** Checks everything in `bucket` against `ledger`. */
export async function verifyDelivery(
  s3: S3Server,
  bucket: string,
  ledger: Ledger,
  shape: RecordShape,
): Promise<Verdict> {
  const issued = ledger.issued;
  const copies = new Uint8Array(issued);
  /** Index + 1 of the object a record was first found in (0: not found). */
  const firstObject = new Uint32Array(issued);
  const scratch = Buffer.alloc(shape.maxBytes);
  const keys = await s3.listKeys(bucket);
  const verdict: Verdict = {
    objects: keys.length,
    storedBytes: 0,
    contentBytes: 0,
    recordsFound: 0,
    ackedExactlyOnce: 0,
    lost: 0,
    duplicatedIds: 0,
    extraCopies: 0,
    duplicatedAcked: 0,
    duplicatedRequests: 0,
    corrupted: 0,
    unreadable: 0,
    unexpected: 0,
    failedDelivered: 0,
    failedNotDelivered: 0,
    ambiguousDelivered: 0,
    ambiguousNotDelivered: 0,
    samples: { lost: [], duplicated: [], corrupted: [], unreadable: [], unexpected: [] },
  };
  const sample = <T>(list: T[], item: T): void => {
    if (list.length < MAX_SAMPLES) list.push(item);
  };
  /**
   * Second sightings of duplicated ids (the first is in `firstObject`), one id per request:
   * a duplicated request duplicates all its records, and ten ids of one request say less than
   * ten requests.
   */
  const secondKey = new Map<number, string>();
  let lastSampledRequest = -1;

  for (const [index, key] of keys.entries()) {
    const object = await s3.getObject(bucket, key);
    verdict.storedBytes += object.body.length;
    let data: Buffer;
    try {
      data = object.contentEncoding === 'gzip' ? gunzipSync(object.body) : object.body;
    } catch {
      verdict.unreadable += 1;
      sample(verdict.samples.unreadable, { key, offset: 0, id: -1 });
      continue;
    }
    verdict.contentBytes += data.length;
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(NEWLINE, start);
      const end = newline === -1 ? data.length : newline + 1;
      const id = parseRecordId(data, start, end);
      if (id < 0) {
        verdict.unreadable += 1;
        sample(verdict.samples.unreadable, { key, offset: start, id });
      } else if (ledger.state(id) === Outcome.pending) {
        verdict.unexpected += 1;
        sample(verdict.samples.unexpected, { key, offset: start, id });
      } else {
        const length = shape.write(id, scratch, 0);
        if (length !== end - start || data.compare(scratch, 0, length, start, end) !== 0) {
          verdict.corrupted += 1;
          sample(verdict.samples.corrupted, { key, offset: start, id });
        } else {
          verdict.recordsFound += 1;
          const seen = copies[id] ?? 0;
          copies[id] = Math.min(255, seen + 1);
          if (seen === 0) firstObject[id] = index + 1;
          else if (seen === 1 && secondKey.size < MAX_SAMPLES) {
            const request = ledger.request(id)?.index ?? -1;
            if (request !== lastSampledRequest) secondKey.set(id, key);
            lastSampledRequest = request;
          }
        }
      }
      start = end;
    }
  }

  let lostRun: LostRange | undefined;
  let lastDuplicatedRequest = -1;
  for (let id = 0; id < issued; id += 1) {
    const state = ledger.state(id);
    const found = copies[id] ?? 0;
    if (found > 1) {
      verdict.duplicatedIds += 1;
      verdict.extraCopies += found - 1;
      if (state === Outcome.acked) verdict.duplicatedAcked += 1;
      const request = ledger.request(id)?.index ?? -1;
      if (request !== lastDuplicatedRequest) verdict.duplicatedRequests += 1;
      lastDuplicatedRequest = request;
      const second = secondKey.get(id);
      if (second !== undefined) {
        sample(verdict.samples.duplicated, {
          id,
          state: STATE_NAMES[state],
          copies: found,
          firstKey: keys[(firstObject[id] ?? 1) - 1] ?? '?',
          secondKey: second,
          request: ledger.request(id),
        });
      }
    }
    const lostHere = state === Outcome.acked && found === 0;
    if (state === Outcome.acked && found === 1) verdict.ackedExactlyOnce += 1;
    else if (lostHere) verdict.lost += 1;
    else if (state === Outcome.failed) {
      if (found > 0) verdict.failedDelivered += 1;
      else verdict.failedNotDelivered += 1;
    } else if (state === Outcome.ambiguous) {
      if (found > 0) verdict.ambiguousDelivered += 1;
      else verdict.ambiguousNotDelivered += 1;
    }
    if (lostHere && lostRun && lostRun.lastId === id - 1) {
      lostRun.lastId = id;
    } else if (lostHere) {
      lostRun = { firstId: id, lastId: id, request: ledger.request(id) };
      sample(verdict.samples.lost, lostRun);
    }
  }
  return verdict;
}
