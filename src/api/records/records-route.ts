/**
 * The plain HTTP records endpoint, for producers without a Firehose client (curl, a log
 * shipper's HTTP output, a script): `POST /v1/streams/{stream}/records` with one record a line
 * (NDJSON, or any text), on the Firehose API's listener (same address, TLS and SigV4 check).
 * The body is stored whole as one chunk or not at all, as a PutRecordBatch is, and answered
 * `{ stream, records, recordIds }`.
 *
 * Errors answer `{ error, message }` as the admin API does: 400 `InvalidParameter` /
 * `InvalidRecord` (naming the parameter or the line), 404 `StreamNotFound`, 409
 * `StreamNotActive` / `StreamRefusesRecords`, 413 `RequestTooLarge`, 415
 * `UnsupportedMediaType`, 503 `Backpressure` / `NotReplicated` / `ServiceUnavailable` (with
 * `Retry-After`), 500 `InternalError`, the code repeated in `X-Sluice-Error`.
 * docs/http-ingest.md describes it for users.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppendResult } from '../../buffer/record-buffer.js';
import { recordIds } from '../../buffer/record-id.js';
import { AdminError, decodedBody, describeFailure, valid } from '../admin/admin-failures.js';
import { parseAdminInput } from '../admin/admin-inputs.js';
import type { ApiContext } from '../context.js';
import { notReplicatedMessage, reportStored } from '../firehose/put-target.js';
import { decodeLineRecords, lineFormatOf, RECORDS_BODY_LIMIT } from './records-body.js';
import { RecordsHeadersSchema, RecordsParamsSchema, RecordsQuerySchema } from './records-inputs.js';

/** The endpoint's route. */
export const RECORDS_ROUTE = '/v1/streams/:stream/records';

/** Its name in the API's request metrics (`operation`). */
export const RECORDS_OPERATION = 'HttpRecords';

/** Header that repeats an error answer's `error` code, as `X-Amzn-ErrorType` does Firehose's. */
export const RECORDS_ERROR_HEADER = 'x-sluice-error';

/** Every `error` code the endpoint answers: a closed set, so metrics may label by it. */
export const RECORDS_ERRORS: ReadonlySet<string> = new Set([
  'InvalidParameter',
  'InvalidRecord',
  'StreamNotFound',
  'StreamNotActive',
  'StreamRefusesRecords',
  'RequestTooLarge',
  'UnsupportedMediaType',
  'Backpressure',
  'NotReplicated',
  'ServiceUnavailable',
  'InternalError',
]);

/** Seconds a producer is asked to wait before sending again after a 503. */
const RETRY_AFTER_SECONDS = 1;

/** Adds the records endpoint to the API app. */
export function registerRecordsRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post(RECORDS_ROUTE, async (request, reply) => {
    try {
      return await reply.send(await putLines(request, ctx));
    } catch (error) {
      const { status, error: name, message } = describeFailure(error, ctx, 'records');
      if (status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.code(status).header(RECORDS_ERROR_HEADER, name).send({ error: name, message });
    }
  });
}

/** What a stored request is answered with. */
interface StoredAnswer {
  stream: string;
  records: number;
  /** One per record, in order: the ids PutRecordBatch would have answered. */
  recordIds: string[];
}

async function putLines(request: FastifyRequest, ctx: ApiContext): Promise<StoredAnswer> {
  const { stream } = valid(parseAdminInput(RecordsParamsSchema, request.params));
  const query = valid(parseAdminInput(RecordsQuerySchema, request.query));
  const idempotencyKey = valid(parseAdminInput(RecordsHeadersSchema, request.headers))[
    'idempotency-key'
  ];
  const format = lineFormatOf(request.headers['content-type']);
  const body = await decodedBody(request, RECORDS_BODY_LIMIT);
  const now = Date.now();
  const decoded = decodeLineRecords(body, format, query.newline ?? true, now);
  const result = await ctx.buffer.append(
    stream,
    decoded.chunk,
    decoded.payloadBytes,
    decoded.count,
    now,
    idempotencyKey === undefined ? undefined : callIdOf(idempotencyKey),
  );
  if (result.kind !== 'stored') {
    if (result.kind === 'backpressure') {
      ctx.telemetry?.emit({ type: 'records.throttled', stream, records: decoded.count });
    }
    throw refusal(result, stream, decoded.lines);
  }
  reportStored(ctx, stream, decoded, now);
  return {
    stream,
    records: decoded.count,
    recordIds: recordIds(result.batchId, result.chunkIndex, decoded.count),
  };
}

/**
 * The append's receipt name for a producer's idempotency key: hashed, so that any key fits,
 * and set apart from the receipts of replays.
 */
function callIdOf(idempotencyKey: string): string {
  return `http:${createHash('sha256').update(idempotencyKey).digest('hex')}`;
}

/** The answer to an append that stored nothing (or stored it unconfirmed by replicas). */
function refusal(
  result: Exclude<AppendResult, { kind: 'stored' }>,
  stream: string,
  lines: readonly number[],
): AdminError {
  switch (result.kind) {
    case 'not-found':
      return new AdminError(404, 'StreamNotFound', `stream ${stream} does not exist`);
    case 'not-active':
      return new AdminError(
        409,
        'StreamNotActive',
        `stream ${stream} is ${result.status} and does not accept records`,
      );
    case 'not-gzip':
      return new AdminError(
        409,
        'StreamRefusesRecords',
        `stream ${stream} decompresses CloudWatch Logs data and takes only gzip-compressed records; the record on line ${lines[result.record - 1] ?? '?'} is not`,
      );
    case 'backpressure':
      return new AdminError(
        503,
        'Backpressure',
        `stream ${stream} has too much undelivered data (SLUICE_MAX_BACKLOG_MB); nothing was stored: send the request again later`,
      );
    case 'not-replicated':
      return new AdminError(503, 'NotReplicated', notReplicatedMessage(result));
  }
}
