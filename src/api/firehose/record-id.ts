/**
 * Record ids answered by PutRecord/PutRecordBatch: opaque to clients, as Firehose's are, but
 * meaningful to Sluice: batch id, chunk index and position, base64url-encoded. They stay
 * stable for a record's whole life, so transforms and error records can name it.
 */
export function recordIds(batchId: string, chunkIndex: number, count: number): string[] {
  const raw = Buffer.allocUnsafe(16 + 4 + 2);
  Buffer.from(batchId.replaceAll('-', ''), 'hex').copy(raw, 0);
  raw.writeUInt32BE(chunkIndex, 16);
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    raw.writeUInt16BE(i, 20);
    ids[i] = raw.toString('base64url');
  }
  return ids;
}

/** Reads back what {@link recordIds} encoded; undefined for anything else. */
export function parseRecordId(
  id: string,
): { batchId: string; chunkIndex: number; position: number } | undefined {
  const raw = Buffer.from(id, 'base64url');
  if (raw.length !== 22 || raw.toString('base64url') !== id) return undefined;
  const hex = raw.subarray(0, 16).toString('hex');
  return {
    batchId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    chunkIndex: raw.readUInt32BE(16),
    position: raw.readUInt16BE(20),
  };
}
