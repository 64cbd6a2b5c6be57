import type {
  BuiltRequest,
  EncodeContext,
  PipelineRecord,
  RecordStream,
} from '../destination-kind.js';
import { displayEndpoint, type ClusterReference } from './endpoints.js';
import { clusterOf, documentIdOf, indexOf, type OpenSearchDeliveryPlan } from './plan.js';

/**
 * The OpenSearch request builder: a `_bulk` body of one `index` action per record, each with
 * its explicit `_index` (the rotated index of the record's arrival) and, with FIREHOSE_DEFAULT,
 * its `_id` from the plan, so a resent document overwrites itself.
 *
 * The body is NDJSON: an action line, then the document line. A document is the record's bytes
 * as they are, except what would break the framing:
 *
 * - trailing whitespace (a record's usual final `\n`) is left off: OpenSearch would skip the
 *   empty line it makes, but the document is the same JSON without it;
 * - a record that still contains a line break is one of two things. If it is valid JSON, its
 *   line breaks can only be whitespace between tokens, and each is sent as a space: the same
 *   document. If it is not JSON, the cluster would refuse it anyway, and sent as it is it would
 *   split into lines that corrupt the rest of the request: it is left out and goes to the error
 *   output at once (`OS.MalformedData`, Firehose's code for a record that is not a single-line
 *   JSON object).
 *
 * Everything else — a record that is JSON but not an object, not JSON at all, empty — is sent
 * as Firehose sends it, and the cluster refuses it for that document alone (a mapping or parse
 * error, written to the error output with the cluster's own message).
 */

/** One item of a bulk request: which record it carries and where it was to go. */
export interface BulkItemRef {
  /** Position of the record in the attempt's record list (what a partial outcome names). */
  index: number;
  /** The record's position in its batch. */
  position: number;
  /** The index, rotation suffix included. */
  indexName: string;
  /** The `_id` sent; undefined when the cluster makes one. */
  id: string | undefined;
}

/** One attempt's request. It carries no credential: the sender looks those up. */
export interface OpenSearchRequest extends BuiltRequest {
  /** The cluster as the plan names it. */
  cluster: ClusterReference;
  /** The NDJSON body. */
  body: Buffer;
  /** The body's items, in order: the bulk answer's `items` correspond one to one. */
  items: readonly BulkItemRef[];
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/**
 * The items each encoded body carries, from `encode` to `build` of the same attempt: the
 * driver hands both the same plan object, and the body between them is bytes only.
 */
const encodedItems = new WeakMap<object, BulkItemRef[]>();

/** Bytes JSON counts as whitespace. */
function isJsonWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * The document line of a record, or undefined when the record cannot be sent as one line
 * (it contains a line break and is not JSON).
 */
export function documentLine(data: Buffer): Buffer | undefined {
  let end = data.length;
  while (end > 0 && isJsonWhitespace(data[end - 1])) end -= 1;
  const line = data.subarray(0, end);
  if (!line.includes(NEWLINE)) return line;
  try {
    JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  const copy = Buffer.from(line);
  for (let at = copy.indexOf(NEWLINE); at !== -1; at = copy.indexOf(NEWLINE, at + 1)) {
    copy[at] = SPACE;
  }
  return copy;
}

/** The action line of one record: `{"index":{"_index":…,"_id":…,"_type":…}}` and `\n`. */
function actionLine(indexName: string, id: string | undefined, typeName: string | undefined) {
  const meta: Record<string, string> = { _index: indexName };
  if (id !== undefined) meta._id = id;
  if (typeName !== undefined) meta._type = typeName;
  return `${JSON.stringify({ index: meta })}\n`;
}

/**
 * The encode stage: one action and one document line per record, yielded a group of records at
 * a time. Records that cannot be framed are left out through `reject`.
 */
export async function* encodeBulkBody(
  plan: OpenSearchDeliveryPlan,
  records: RecordStream,
  { reject }: Pick<EncodeContext, 'reject'>,
): AsyncIterable<Buffer> {
  const items: BulkItemRef[] = [];
  encodedItems.set(plan, items);
  let index = 0;
  for await (const group of records) {
    const pieces: Buffer[] = [];
    for (const record of group.records()) {
      const line = documentLine(record.data);
      if (line === undefined) {
        reject({
          position: record.position,
          code: 'OS.MalformedData',
          reason:
            'The record is not a single-line JSON object: it contains a line break and is not valid JSON, so it cannot be sent as one line of a _bulk request. Each record must be a single valid JSON object.',
          outputType: 'AmazonOpenSearchService-failed',
        });
      } else {
        const item = itemOf(plan, record, index);
        items.push(item);
        pieces.push(Buffer.from(actionLine(item.indexName, item.id, plan.typeName)), line);
        pieces.push(Buffer.from('\n'));
      }
      index += 1;
    }
    if (pieces.length > 0) yield Buffer.concat(pieces);
  }
}

function itemOf(plan: OpenSearchDeliveryPlan, record: PipelineRecord, index: number): BulkItemRef {
  return {
    index,
    position: record.position,
    indexName: indexOf(plan, record),
    id: documentIdOf(plan, record.position),
  };
}

/**
 * The request builder: the body collected (the client sends it whole, with its length), and
 * the items its encoding recorded.
 *
 * @throws Error when the plan's body was not encoded in this process (a defect: retried).
 */
export async function buildBulkRequest(
  plan: OpenSearchDeliveryPlan,
  body: AsyncIterable<Buffer>,
): Promise<OpenSearchRequest> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece);
  const items = encodedItems.get(plan);
  if (items === undefined) throw new Error('the bulk body was built without its item list');
  encodedItems.delete(plan);
  const cluster = clusterOf(plan);
  return {
    target: `POST ${'domainArn' in cluster ? cluster.domainArn : displayEndpoint(cluster.clusterEndpoint)}/_bulk`,
    cluster,
    body: Buffer.concat(pieces),
    items,
  };
}
