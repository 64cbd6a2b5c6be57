/**
 * The key of an error-output object, computed so that the same write always gets the same key:
 * a retry after a crash rewrites the object instead of adding a second one (DESIGN.md,
 * non-negotiable 3). Everything Firehose makes random in a key (the object name's uuid,
 * `!{firehose:random-string}`) is derived here from a hash of the write's identity.
 */
import { createHash } from 'node:crypto';
import type { S3Location } from '../destinations/destination-kind.js';
import { buildErrorObjectKey, RANDOM_STRING_LENGTH } from '../destinations/s3/object-key.js';
import type { ErrorOutputType } from './error-records.js';

const RANDOM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Bytes at or above this would make `byte % 62` favour the alphabet's first letters.
const UNBIASED_BYTE_LIMIT = 256 - (256 % RANDOM_ALPHABET.length);

/** What names one error-output object. */
export interface ErrorObjectKeyInput {
  stream: string;
  /** The stream's `VersionId` in the batch's plan. */
  streamVersion: number;
  batchId: string;
  /** Arrival of the batch's oldest record, epoch ms: every timestamp in the key. */
  firstArrivalMs: number;
  /** Which of the batch's error-output writes this is (the driver numbers them). */
  seq: number;
  type: ErrorOutputType;
  location: S3Location;
}

/**
 * A dashed UUID that looks like a v4 one (version and variant bits set) made from the first
 * 16 bytes of SHA-256 of `seed`.
 */
export function deterministicUuid(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A source of `!{firehose:random-string}` values for one key: 11 characters of `[A-Za-z0-9]`,
 * different for each occurrence (as Firehose's are) and the same on every evaluation of the
 * same `seed`, occurrence by occurrence.
 */
export function deterministicRandomStrings(seed: string): () => string {
  let occurrence = 0;
  return () => {
    occurrence += 1;
    let out = '';
    for (let round = 0; out.length < RANDOM_STRING_LENGTH; round++) {
      const bytes = createHash('sha256')
        .update(`${seed}:random-string:${occurrence}:${round}`)
        .digest();
      for (const byte of bytes) {
        if (byte >= UNBIASED_BYTE_LIMIT) continue;
        out += RANDOM_ALPHABET.charAt(byte % RANDOM_ALPHABET.length);
        if (out.length === RANDOM_STRING_LENGTH) break;
      }
    }
    return out;
  };
}

/**
 * The object key: Firehose's error layout (see `buildErrorObjectKey`: the evaluated
 * `ErrorOutputPrefix` with `!{firehose:error-output-type}` = `type`, or
 * `<Prefix><type>/yyyy/MM/dd/HH/` without one) and the suffix
 * `<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>`, all timestamps `firstArrivalMs` in the
 * location's zone; `.gz` is appended for GZIP, nothing otherwise. The uuid and random strings
 * derive from `${batchId}:${seq}:${type}`, so equal inputs give equal keys.
 *
 * @throws EvaluatedPrefixTooLongError when the evaluated prefix is over 512 characters (no
 *   retry can fix it).
 */
export function errorObjectKey(input: ErrorObjectKeyInput): string {
  const { location } = input;
  const seed = `${input.batchId}:${input.seq}:${input.type}`;
  const key = buildErrorObjectKey(
    {
      streamName: input.stream,
      versionId: input.streamVersion,
      prefix: location.prefix,
      errorOutputPrefix: location.errorOutputPrefix,
      compression: location.compression,
      fileExtension: undefined,
      timeZone: location.timeZone,
    },
    { batchId: deterministicUuid(seed), firstArrivalMs: input.firstArrivalMs },
    input.type,
    deterministicRandomStrings(seed),
  );
  return location.compression === 'GZIP' ? `${key}.gz` : key;
}
