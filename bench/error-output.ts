import { gunzipSync } from 'node:zlib';

import type { S3Server } from '../devtools/s3-server.js';
import { parseErrorRecords } from '../src/error-output/error-records.js';
import { SeqBytes, seqOfRecord } from './http-receiver.js';
import type { RecordAccounting } from './record-accounting.js';

/**
 * The error output of the delivery phases whose records carry a bench sequence number (http,
 * opensearch): its bucket, and every record in it counted by sequence number, so the phase can
 * check that it holds exactly the records failed on purpose.
 */

/** Creates the bucket unless it is there already (a bench run creates it once). */
export async function ensureBucket(s3: S3Server, bucket: string): Promise<void> {
  try {
    await s3.createBucket(bucket);
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** The error output: every record's sequence number, and the error codes. */
export interface ErrorOutputRead {
  objects: number;
  records: number;
  codes: Record<string, number>;
  /** Copies per sequence number. */
  tally: SeqBytes;
  /** Records without a bench sequence number. */
  untallied: number;
}

/**
 * Reads every error-output object of the bucket whose key starts with `prefix` (NDJSON,
 * gzip-compressed or not).
 */
export async function readErrorOutput(
  s3: S3Server,
  bucket: string,
  prefix = '',
): Promise<ErrorOutputRead> {
  const read: ErrorOutputRead = {
    objects: 0,
    records: 0,
    codes: {},
    tally: new SeqBytes(),
    untallied: 0,
  };
  for (const key of await s3.listKeys(bucket)) {
    if (!key.startsWith(prefix)) continue;
    const object = await s3.getObject(bucket, key);
    const gzipped =
      object.contentEncoding === 'gzip' || (object.body[0] === 0x1f && object.body[1] === 0x8b);
    read.objects += 1;
    for (const record of parseErrorRecords(gzipped ? gunzipSync(object.body) : object.body)) {
      read.records += 1;
      read.codes[record.code] = (read.codes[record.code] ?? 0) + 1;
      const seq = seqOfRecord(record.rawData);
      if (seq === undefined) read.untallied += 1;
      else read.tally.set(seq, Math.min(255, read.tally.at(seq) + 1));
    }
  }
  return read;
}

/** The error output as a phase reports it. */
export interface ErrorOutputFigures {
  errorOutput: { objects: number; records: number; codes: Record<string, number> };
  /** The error output holds exactly the records the target failed on purpose. */
  errorOutputMatches: boolean;
}

/**
 * What `read` found, and whether it is exactly the `failedOnPurpose` records the target failed
 * on purpose: as many, each a bench record, none other and none missing.
 */
export function errorOutputFigures(
  read: ErrorOutputRead,
  accounting: RecordAccounting,
  failedOnPurpose: number,
): ErrorOutputFigures {
  return {
    errorOutput: { objects: read.objects, records: read.records, codes: read.codes },
    errorOutputMatches:
      read.records === failedOnPurpose &&
      read.untallied === 0 &&
      accounting.errorNotDeliberate === 0 &&
      accounting.deliberateNotInErrorOutput === 0,
  };
}
