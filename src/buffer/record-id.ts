/**
 * Record ids answered by PutRecord/PutRecordBatch: opaque to clients, as Firehose's are, but
 * meaningful to Sluice: batch id, chunk index and position, base64url-encoded. They stay
 * stable for a record's whole life, so transforms and error records can name it.
 *
 * Layout (24 bytes, 32 characters): 16 bytes batch id, 4 bytes chunk index, 1 byte format
 * version, 3 bytes position. The head is 21 bytes — a multiple of 3 — so its base64url text
 * is computed once per request and each id only appends the 4 characters of its position.
 */
const HEAD_BYTES = 21;
const FORMAT_VERSION = 1;

/** Position suffixes of the first 500 records (a full PutRecordBatch), computed once. */
const SUFFIXES = Array.from({ length: 500 }, (_, i) => positionSuffix(i));

function positionSuffix(position: number): string {
  const bytes = Buffer.allocUnsafe(3);
  bytes.writeUIntBE(position, 0, 3);
  return bytes.toString('base64url');
}

/** The ids of `count` records stored as chunk `chunkIndex` of batch `batchId`. */
export function recordIds(batchId: string, chunkIndex: number, count: number): string[] {
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  Buffer.from(batchId.replaceAll('-', ''), 'hex').copy(head, 0);
  head.writeUInt32BE(chunkIndex, 16);
  head.writeUInt8(FORMAT_VERSION, 20);
  const prefix = head.toString('base64url');
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = prefix + (SUFFIXES[i] ?? positionSuffix(i));
  return ids;
}

/** Reads back what {@link recordIds} encoded; undefined for anything else. */
export function parseRecordId(
  id: string,
): { batchId: string; chunkIndex: number; position: number } | undefined {
  const raw = Buffer.from(id, 'base64url');
  if (raw.length !== HEAD_BYTES + 3 || raw.toString('base64url') !== id) return undefined;
  if (raw.readUInt8(20) !== FORMAT_VERSION) return undefined;
  const hex = raw.subarray(0, 16).toString('hex');
  return {
    batchId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    chunkIndex: raw.readUInt32BE(16),
    position: raw.readUIntBE(21, 3),
  };
}
