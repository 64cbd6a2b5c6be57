import type { BuiltRequest, PipelineRecord, RecordStream } from '../destination-kind.js';
import type { DatabaseCredentials } from './connections.js';
import type { StoredRedshiftDestination } from './config.js';
import type { RedshiftDeliveryPlan } from './plan.js';

/**
 * The direct path's encode stage and request builder. The encoder frames the attempt's
 * records (position, length, bytes) so the builder gets them back one by one: the load splits
 * the batch by record when PostgreSQL rejects rows, and its ledger identity names the records
 * the attempt carries. Records become rows in the sender (copy-rows.ts), because JSON 'auto'
 * without `DataTableColumns` needs the table's columns from the database, and the database is
 * reached with the password read at send time.
 */

/** How the sender authenticates: as given, or through a `SecretARN` resolved at send time. */
export type RequestCredentials = DatabaseCredentials | { secretArn: string } | { missing: string };

/** One record of the attempt, in the attempt's order. */
export interface AttemptRecord {
  /** The record's position in its batch. */
  position: number;
  data: Buffer;
}

/** One attempt's load. `credentials` may hold the password: log `target`, never the request. */
export interface RedshiftRequest extends BuiltRequest {
  plan: RedshiftDeliveryPlan;
  /** The attempt's records, in the order the driver counts them (partial outcomes' indexes). */
  records: AttemptRecord[];
  credentials: RequestCredentials;
}

const HEADER_BYTES = 8;

/** The encode stage: each group of records as one buffer of framed records. */
export async function* encodeRecordFrames(records: RecordStream): AsyncIterable<Buffer> {
  for await (const group of records) {
    if (group.length === 0) continue;
    yield frameRecords(group);
  }
}

/** Frames records: per record its position and length (uint32, big-endian), then its bytes. */
export function frameRecords(records: readonly PipelineRecord[]): Buffer {
  let size = 0;
  for (const record of records) size += HEADER_BYTES + record.data.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const record of records) {
    out.writeUInt32BE(record.position, at);
    out.writeUInt32BE(record.data.length, at + 4);
    at += HEADER_BYTES;
    at += record.data.copy(out, at);
  }
  return out;
}

/** The records of framed pieces, as views into them. */
export function unframeRecords(pieces: readonly Buffer[]): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  for (const piece of pieces) {
    let at = 0;
    while (at < piece.length) {
      const position = piece.readUInt32BE(at);
      const length = piece.readUInt32BE(at + 4);
      at += HEADER_BYTES;
      records.push({ position, data: piece.subarray(at, at + length) });
      at += length;
    }
  }
  return records;
}

/**
 * The request builder: the attempt's records, and the credentials from `current`, the
 * stream's configuration now, so a password fixed by UpdateDestination is used from the next
 * attempt on.
 */
export async function buildRedshiftRequest(
  plan: RedshiftDeliveryPlan,
  body: AsyncIterable<Buffer>,
  current: StoredRedshiftDestination | undefined,
): Promise<RedshiftRequest> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece);
  return {
    target: `COPY ${displayTable(plan)} on postgresql://${plan.host}:${plan.port}/${plan.database}`,
    plan,
    records: unframeRecords(pieces),
    credentials: credentialsOf(current),
  };
}

/** The table as logs show it. */
export function displayTable(plan: Pick<RedshiftDeliveryPlan, 'table'>): string {
  return plan.table.schema === undefined
    ? plan.table.table
    : `${plan.table.schema}.${plan.table.table}`;
}

/** How the sender authenticates, from the stream's destination now. */
export function credentialsOf(current: StoredRedshiftDestination | undefined): RequestCredentials {
  if (current === undefined) {
    return { missing: 'the stream no longer has a Redshift destination to take credentials from' };
  }
  const secrets = current.SecretsManagerConfiguration;
  if (secrets?.Enabled === true && secrets.SecretARN !== undefined)
    return { secretArn: secrets.SecretARN };
  if (current.Username === undefined || current.Password === undefined) {
    return { missing: 'the destination has no Username and Password' };
  }
  return { user: current.Username, password: current.Password };
}
