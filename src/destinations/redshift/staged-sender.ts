import { Readable } from 'node:stream';
import type pg from 'pg';
import { COMPRESSION, compress } from '../../formats/compression.js';
import type { DestinationServices, SendResult } from '../destination-kind.js';
import type { RedshiftConnections } from './connections.js';
import { ledgerKey } from './ledger.js';
import { loadOnce, REDSHIFT_LEDGER } from './ledger-transaction.js';
import { manifestOf, s3Url } from './manifest.js';
import type { AttemptRecord } from './record-runs.js';
import type { RedshiftResponse } from './sender.js';
import { withDatabaseSession } from './database-session.js';
import { stagedCopyStatement } from './staged-copy.js';
import type { StagedRedshiftRequest } from './staged-request.js';

/**
 * The staged path's sender, Firehose's way to Redshift: the attempt's records are written as
 * one object to the intermediate bucket (compressed as the plan says), then the manifest that
 * lists it, then — in one transaction with the batch's ledger row — Redshift's
 * `COPY … FROM '<manifest>' … MANIFEST`. The keys come from the plan, so a retry overwrites
 * the same object and manifest; the ledger row makes a batch whose COPY committed answer from
 * the ledger instead of loading again. A COPY fails or loads the whole batch (Redshift has no
 * row isolation): there are no partial outcomes here. It never classifies.
 */

/** A write to the intermediate bucket that failed, with the store's verdict on retrying. */
export class StagingFailure extends Error {
  override name = 'StagingFailure';

  constructor(
    override readonly cause: unknown,
    /** The store says no retry can succeed. */
    readonly permanent: boolean,
    /** `s3://bucket/key` of the write. */
    readonly target: string,
  ) {
    super(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
  }
}

/** Records are handed to the compressor in pieces of about a mebibyte. */
const PIECE_BYTES = 1 << 20;

/** The sender. */
export async function sendStagedRedshiftRequest(
  request: StagedRedshiftRequest,
  services: DestinationServices,
): Promise<SendResult<RedshiftResponse>> {
  const staged = await stage(request, services);
  if (staged !== undefined) return { error: staged };
  return withDatabaseSession(
    services.redshift,
    request.plan,
    request.credentials,
    (client, connections) => load(client, request, connections),
  );
}

/**
 * Writes the object, then the manifest (which needs the object's stored length).
 *
 * @returns the failure, or undefined once both are written.
 */
async function stage(
  request: StagedRedshiftRequest,
  services: DestinationServices,
): Promise<StagingFailure | undefined> {
  const { plan, records } = request;
  const store = services.objectStore;
  let contentLength = 0;
  const counted = async function* (pieces: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const piece of pieces) {
      contentLength += piece.length;
      yield piece;
    }
  };
  const write = async (key: string, body: Readable, contentEncoding: string | undefined) => {
    try {
      await store.put({ bucket: plan.bucket, key, body, contentEncoding });
      return undefined;
    } catch (error) {
      body.destroy();
      return new StagingFailure(error, store.isPermanent(error), s3Url(plan.bucket, key));
    }
  };
  const object = compress(Readable.from(concatenated(records)), plan.compression, {
    entryName: plan.batchId,
    modifiedMs: 0,
    deflateLevel: services.deflateLevel,
  });
  const failed = await write(
    plan.objectKey,
    Readable.from(counted(object), { objectMode: false }),
    COMPRESSION[plan.compression].contentEncoding,
  );
  if (failed !== undefined) return failed;
  const manifest = manifestOf([{ bucket: plan.bucket, key: plan.objectKey, contentLength }]);
  return write(plan.manifestKey, Readable.from([manifest], { objectMode: false }), undefined);
}

/** The records' bytes, concatenated as Firehose writes them, in pieces. */
function* concatenated(records: readonly AttemptRecord[]): Generator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for (const record of records) {
    parts.push(record.data);
    size += record.data.length;
    if (size >= PIECE_BYTES) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

/** One attempt's load: Redshift's COPY from the manifest, all or nothing (ledger-transaction.ts). */
function load(
  client: pg.PoolClient,
  request: StagedRedshiftRequest,
  connections: RedshiftConnections,
): Promise<RedshiftResponse> {
  const { plan, records } = request;
  const identity = { key: ledgerKey(plan, records), records: records.length };
  return loadOnce(client, connections, plan, identity, REDSHIFT_LEDGER, async () => {
    await client.query(stagedCopyStatement(plan));
    return { outcome: { loaded: records.length, failed: [] } };
  });
}
