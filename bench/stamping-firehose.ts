import { FirehoseHttp, type HttpReply, type SignedBody } from './firehose-http.js';
import { SeqBytes, seqPrefix, writeSeqBase64 } from './http-receiver.js';
import { putOutcome, requestResponses } from './put-outcome.js';
import type { PreparedBody } from './records.js';
import { sha256Hex, type SigningIdentity } from './sigv4.js';

/**
 * The load of the delivery phases that follow every record to where it ends (http,
 * opensearch): the bench's prepared bodies with a unique sequence number at the start of each
 * record (`{"seq":"…",` then the clickstream event of `records.ts`), stamped as they are sent,
 * and each record's outcome remembered by its number.
 */

/** A PutRecordBatch body whose records start with a sequence number to stamp on each send. */
export interface StampTemplate extends PreparedBody {
  /** Byte offset of each record's base64 `Data` in {@link PreparedBody.buffer}. */
  readonly dataOffsets: readonly number[];
  /** Each record's bytes, with sequence number 0. */
  readonly records: readonly Buffer[];
}

/**
 * The bench's prepared bodies with `{"seq":"000000000000000",` put in front of each event
 * (`{"seq":"…","event_id":…}` stays a JSON line), for {@link StampingFirehose} to number.
 */
export function stampTemplates(stream: string, bodies: readonly PreparedBody[]): StampTemplate[] {
  const zero = seqPrefix(0);
  return bodies.map((body) => {
    const parsed = JSON.parse(body.buffer.toString('utf8')) as { Records: { Data: string }[] };
    let text = `{"DeliveryStreamName":${JSON.stringify(stream)},"Records":[`;
    const dataOffsets: number[] = [];
    const records: Buffer[] = [];
    parsed.Records.forEach(({ Data }, i) => {
      const event = Buffer.from(Data, 'base64');
      // `{"event_id":…}` → `{"seq":"…","event_id":…}`.
      const record = Buffer.concat([zero, Buffer.from(','), event.subarray(1)]);
      records.push(record);
      text += `${i > 0 ? ',' : ''}{"Data":"`;
      dataOffsets.push(text.length);
      text += `${record.toString('base64')}"}`;
    });
    const buffer = Buffer.from(`${text}]}`, 'latin1');
    const recordBytes = records.map((r) => r.length);
    return {
      buffer,
      sha256: sha256Hex(buffer),
      recordBytes,
      payloadBytes: recordBytes.reduce((sum, n) => sum + n, 0),
      dataOffsets,
      records,
    };
  });
}

/** A record's state in {@link StampingFirehose.states}: sent without acknowledgement. */
export const SENT = 1;
/** A record's state in {@link StampingFirehose.states}: acknowledged (0 is: never sent). */
export const ACKNOWLEDGED = 2;

/**
 * `count` groups of `perGroup` records, drawn in turn from the templates' records as copies
 * numbered from 0 up: the same records the load sends, for a reference's bodies.
 */
export function numberedRecordGroups(
  templates: readonly StampTemplate[],
  perGroup: number,
  count: number,
): Buffer[][] {
  const all = templates.flatMap((t) => t.records);
  let seq = 0;
  return Array.from({ length: count }, () =>
    Array.from({ length: perGroup }, () => {
      const record = Buffer.from(all[seq % all.length] ?? Buffer.alloc(0));
      seqPrefix(seq).copy(record, 0);
      seq += 1;
      return record;
    }),
  );
}

/**
 * The Firehose client of the load, numbering records as it sends them: each PutRecordBatch is a
 * copy of its template with the next sequence numbers written over the old ones (re-signed,
 * since the signature covers the body's hash), and each record's outcome is remembered.
 *
 * Copies are reused once their request is answered: every sequence number in a copy is
 * rewritten on each use, and allocating a fresh third of a MiB per request would cost the load
 * generator more than everything else it does for the request.
 */
export class StampingFirehose extends FirehoseHttp {
  /** Per sequence number: {@link SENT} or {@link ACKNOWLEDGED}. */
  readonly states = new SeqBytes();
  /** The next sequence number. */
  next = 0;
  private readonly templates: ReadonlyMap<SignedBody, StampTemplate>;
  /** Answered copies per template, ready for their next use. */
  private readonly spares = new Map<StampTemplate, Buffer[]>();

  constructor(
    url: string,
    identity: SigningIdentity,
    maxSockets: number,
    templates: readonly StampTemplate[],
  ) {
    super(url, identity, maxSockets);
    this.templates = new Map(templates.map((t) => [t, t]));
  }

  /** Sends `body`'s template with fresh sequence numbers; resolves and rejects as the base. */
  override async putRecordBatch(body: SignedBody, timeoutMs: number): Promise<HttpReply> {
    const template = this.templates.get(body);
    if (template === undefined) throw new Error('StampingFirehose: body is not a stamp template');
    const first = this.next;
    this.next += template.dataOffsets.length;
    let spares = this.spares.get(template);
    if (spares === undefined) {
      spares = [];
      this.spares.set(template, spares);
    }
    const copy = spares.pop() ?? Buffer.from(template.buffer);
    template.dataOffsets.forEach((offset, i) => writeSeqBase64(copy, offset, first + i));
    const mark = (state: (i: number) => number): void => {
      for (let i = 0; i < template.dataOffsets.length; i += 1) this.states.set(first + i, state(i));
    };
    let reply: HttpReply;
    try {
      reply = await this.post('PutRecordBatch', copy, sha256Hex(copy), timeoutMs);
    } catch (error) {
      // Not reused: a request that failed may still be writing the copy.
      mark(() => SENT);
      throw error;
    }
    spares.push(copy);
    const outcome = putOutcome(reply, template);
    if (outcome.failedRecords === 0) {
      mark(() => ACKNOWLEDGED);
    } else if (reply.status !== 200) {
      mark(() => SENT);
    } else {
      const responses = requestResponses(reply, template.dataOffsets.length);
      mark((i) => {
        if (typeof responses === 'string') return SENT;
        const code = (responses[i] as { ErrorCode?: unknown } | null)?.ErrorCode;
        return typeof code === 'string' && code !== '' ? SENT : ACKNOWLEDGED;
      });
    }
    return reply;
  }
}
