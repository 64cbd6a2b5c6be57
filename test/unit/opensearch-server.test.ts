import { gunzipSync, gzipSync } from 'node:zlib';

import { Client, errors } from '@opensearch-project/opensearch';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanups } from '../support/e2e.js';
import {
  startOpenSearchServer,
  type OpenSearchServer,
  type OpenSearchServerOptions,
} from '../support/opensearch-server.js';
import { makeTestCertificates } from '../support/tls-certs.js';

/**
 * The OpenSearch test server against the real `@opensearch-project/opensearch` client: what a
 * Sluice destination will see must be what a real cluster answers.
 */

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function cluster(options?: OpenSearchServerOptions): Promise<OpenSearchServer> {
  const started = await startOpenSearchServer(options);
  cleanups.add(() => started.close());
  return started;
}

function clientFor(server: OpenSearchServer, options: Record<string, unknown> = {}): Client {
  const client = new Client({ node: server.url, maxRetries: 0, ...options });
  cleanups.add(() => client.close());
  return client;
}

interface BulkItem {
  _index: string;
  _id: string;
  _version?: number;
  result?: string;
  status: number;
  _seq_no?: number;
  _primary_term?: number;
  _shards?: unknown;
  error?: { type: string; reason: string; caused_by?: { type: string; reason: string } };
}

/** The single action's result of each item of a bulk answer. */
function itemsOf(body: unknown): BulkItem[] {
  return (body as { items: Array<Record<string, BulkItem>> }).items.map((item) => {
    const [result] = Object.values(item);
    if (result === undefined) throw new Error('empty bulk item');
    return result;
  });
}

/** POSTs raw bytes to the server, for bodies the client would not send. */
async function rawPost(
  server: OpenSearchServer,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/x-ndjson' },
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(server.url + path, { method: 'POST', body, headers });
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  return { status: response.status, json, headers: response.headers };
}

describe('OpenSearch test server: cluster info and reads', () => {
  it('answers GET / and HEAD / as OpenSearch 2.x does', async () => {
    const server = await cluster();
    const client = clientFor(server);
    const info = await client.info();
    expect(info.statusCode).toBe(200);
    expect(info.headers?.['content-type']).toBe('application/json; charset=UTF-8');
    expect(info.body.version.distribution).toBe('opensearch');
    expect(info.body.version.number).toMatch(/^2\.\d+\.\d+$/);
    expect(info.body.tagline).toBe('The OpenSearch Project: https://opensearch.org/');
    expect((await client.ping()).body).toBe(true);
  });

  it('creates indices with mappings, reads documents back, counts, searches, deletes', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.indices.create({
      index: 'books',
      body: { mappings: { properties: { title: { type: 'text' }, pages: { type: 'long' } } } },
    });
    expect((await client.indices.exists({ index: 'books' })).body).toBe(true);
    expect((await client.indices.exists({ index: 'nope' })).body).toBe(false);
    const body = ['c', 'a', 'b'].flatMap((id) => [
      { index: { _index: 'books', _id: id } },
      { title: `book ${id}`, pages: 10 },
    ]);
    const bulk = await client.bulk({ body });
    expect(bulk.body.errors).toBe(false);

    // Near-real-time: a read by id sees the write at once, search only after a refresh.
    const got = await client.get({ index: 'books', id: 'a' });
    expect(got.body).toMatchObject({
      _index: 'books',
      _id: 'a',
      _version: 1,
      found: true,
      _source: { title: 'book a', pages: 10 },
    });
    await client.indices.refresh({ index: 'books' });
    expect((await client.count({ index: 'books' })).body.count).toBe(3);
    const search = await client.search({
      index: 'books',
      body: { query: { match_all: {} }, sort: [{ _id: { order: 'asc' } }], size: 2, from: 1 },
    });
    expect(search.body.hits.total).toEqual({ value: 3, relation: 'eq' });
    expect(search.body.hits.hits.map((hit) => hit._id)).toEqual(['b', 'c']);

    const missing = await client.get({ index: 'books', id: 'zzz' }, { ignore: [404] });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toEqual({ _index: 'books', _id: 'zzz', found: false });

    const mapping = await client.indices.getMapping({ index: 'books' });
    expect(mapping.body).toEqual({
      books: { mappings: { properties: { title: { type: 'text' }, pages: { type: 'long' } } } },
    });
    const cat = await client.cat.indices({ format: 'json' });
    expect(cat.body).toEqual([
      expect.objectContaining({ index: 'books', health: 'yellow', 'docs.count': '3' }),
    ]);

    await client.indices.delete({ index: 'books' });
    expect(server.indices()).toEqual([]);
    await expect(client.get({ index: 'books', id: 'a' })).rejects.toMatchObject({
      statusCode: 404,
      body: { error: { type: 'index_not_found_exception', reason: 'no such index [books]' } },
    });
  });

  it('refuses to create an index twice, and invalid index names', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.indices.create({ index: 'twice' });
    await expect(client.indices.create({ index: 'twice' })).rejects.toMatchObject({
      statusCode: 400,
      body: { error: { type: 'resource_already_exists_exception' } },
    });
    await expect(client.indices.create({ index: 'Upper' })).rejects.toMatchObject({
      statusCode: 400,
      body: {
        error: {
          type: 'invalid_index_name_exception',
          reason: 'Invalid index name [Upper], must be lowercase',
        },
      },
    });
  });
});

describe('OpenSearch test server: _bulk', () => {
  it('answers mixed outcomes per item, with errors: true', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.bulk({
      body: [
        { index: { _index: 'mixed', _id: 'existing' } },
        { n: 1 },
        { index: { _index: 'mixed', _id: 'gone' } },
        { n: 2 },
      ],
    });
    const response = await client.bulk({
      index: 'mixed',
      body: [
        { index: { _id: 'one' } },
        { n: 3 },
        { index: {} },
        { n: 4 },
        { create: { _id: 'existing' } },
        { n: 5 },
        { index: { _id: 'existing' } },
        { n: 6 },
        { update: { _id: 'one' } },
        { doc: { extra: true } },
        { update: { _id: 'upserted' } },
        { doc: { n: 7 }, doc_as_upsert: true },
        { update: { _id: 'absent' } },
        { doc: { n: 8 } },
        { delete: { _id: 'gone' } },
        { delete: { _id: 'never' } },
        { index: { _id: 'text' } },
        'not an object' as unknown as object,
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(response.body.errors).toBe(true);
    const items = itemsOf(response.body);
    expect(response.body.items.map((item: object) => Object.keys(item)[0])).toEqual([
      'index',
      'index',
      'create',
      'index',
      'update',
      'update',
      'update',
      'delete',
      'delete',
      'index',
    ]);
    expect(items.map((item) => item.status)).toEqual([
      201, 201, 409, 200, 200, 201, 404, 200, 404, 400,
    ]);
    expect(items[0]).toEqual({
      _index: 'mixed',
      _id: 'one',
      _version: 1,
      result: 'created',
      _shards: { total: 2, successful: 1, failed: 0 },
      _seq_no: 2,
      _primary_term: 1,
      status: 201,
    });
    expect(items[1]?._id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(items[2]?.error).toMatchObject({
      type: 'version_conflict_engine_exception',
      reason: '[existing]: version conflict, document already exists (current version [1])',
      index: 'mixed',
      shard: '0',
    });
    expect(items[3]).toMatchObject({ result: 'updated', _version: 2 });
    expect(items[4]).toMatchObject({ result: 'updated', _version: 2 });
    expect(items[5]).toMatchObject({ result: 'created', _version: 1 });
    expect(items[6]?.error).toMatchObject({
      type: 'document_missing_exception',
      reason: '[absent]: document missing',
    });
    expect(items[7]).toMatchObject({ result: 'deleted', _version: 2 });
    expect(items[8]).toMatchObject({ result: 'not_found', status: 404 });
    expect(items[8]?.error).toBeUndefined();
    expect(items[9]?.error?.type).toBe('mapper_parsing_exception');

    const documents = server.documents('mixed');
    expect([...documents.keys()].sort()).toEqual(
      ['existing', 'one', 'upserted', items[1]?._id ?? ''].sort(),
    );
    expect(documents.get('one')).toEqual({ source: { n: 3, extra: true }, version: 2 });
    expect(documents.get('existing')).toEqual({ source: { n: 6 }, version: 2 });

    const log = server.bulkRequests();
    expect(log).toHaveLength(2);
    expect(log[1]?.items.map((item) => [item.action, item.id, item.status])).toEqual(
      items.map((item, position) => [
        Object.keys(response.body.items[position] as object)[0],
        item._id,
        item.status,
      ]),
    );
    expect(log[1]?.items[1]?.idGenerated).toBe(true);
    expect(log[1]?.headers['content-type']).toBe('application/x-ndjson');
    expect(log[1]?.errors).toBe(true);
  });

  it('takes gzip request bodies and logs the bytes as sent', async () => {
    const server = await cluster();
    const client = clientFor(server, { compression: 'gzip' });
    const response = await client.bulk({
      body: [{ index: { _index: 'zipped', _id: '1' } }, { message: 'hello' }],
    });
    expect(response.body.errors).toBe(false);
    expect(server.documents('zipped').get('1')?.source).toEqual({ message: 'hello' });
    const [logged] = server.bulkRequests();
    expect(logged?.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(logged?.rawBody ?? Buffer.alloc(0)).toString()).toBe(
      '{"index":{"_index":"zipped","_id":"1"}}\n{"message":"hello"}\n',
    );
    const bad = await rawPost(server, '/_bulk', Buffer.from('not gzip'), {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(bad.status).toBe(400);
    const manual = await rawPost(
      server,
      '/zipped/_bulk',
      gzipSync('{"index":{"_id":"2"}}\n{"m":2}\n'),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    );
    expect(manual.status).toBe(200);
    expect(server.documents('zipped').size).toBe(2);
  });

  it('refuses malformed requests as a whole, as OpenSearch does', async () => {
    const server = await cluster();
    const cases: Array<[string, number, string, string]> = [
      ['{"index":{}}\n{"a":1}', 400, 'illegal_argument_exception', 'terminated by a newline'],
      [
        '{"explode":{}}\n{"a":1}\n',
        400,
        'illegal_argument_exception',
        'Malformed action/metadata line [1], expected one of [create, delete, index, update] but found [explode]',
      ],
      [
        '{"index":{"_index":"a","_type":"_doc"}}\n{"a":1}\n',
        400,
        'illegal_argument_exception',
        'Action/metadata line [1] contains an unknown parameter [_type]',
      ],
      ['{"index":{"_index":"a"}\n{"a":1}\n', 400, 'json_parse_exception', ''],
      ['[1]\n', 400, 'illegal_argument_exception', 'expected START_OBJECT or END_OBJECT'],
      ['{"index":{}}\n{"a":1}\n', 400, 'action_request_validation_exception', 'index is missing'],
      [
        '{"update":{"_index":"a","_id":"1"}}\n{"doc":{},"bogus":1}\n',
        400,
        'x_content_parse_exception',
        '[UpdateRequest] unknown field [bogus]',
      ],
    ];
    for (const [body, status, type, reason] of cases) {
      const answer = await rawPost(server, '/_bulk', body);
      expect(answer.status, body).toBe(status);
      expect(answer.json, body).toMatchObject({ error: { type, root_cause: [{ type }] }, status });
      expect((answer.json as { error: { reason: string } }).error.reason, body).toContain(reason);
    }
    const empty = await rawPost(server, '/_bulk', '');
    expect(empty.status).toBe(400);
    expect(empty.json).toMatchObject({
      error: { type: 'parse_exception', reason: 'request body is required' },
    });
    const noType = await rawPost(server, '/_bulk', '{"index":{"_index":"a"}}\n{}\n', {});
    expect(noType.status).toBe(406);
    const textPlain = await rawPost(server, '/_bulk', '{"index":{"_index":"a"}}\n{}\n', {
      'content-type': 'text/plain',
    });
    expect(textPlain.json).toEqual({
      error: 'Content-Type header [text/plain] is not supported',
      status: 406,
    });
    const unknownParameter = await rawPost(
      server,
      '/_bulk?bogus=1',
      '{"index":{"_index":"a"}}\n{}\n',
    );
    expect(unknownParameter.status).toBe(400);
    expect(server.indices()).toEqual([]);
    // A document line that is not JSON fails only its item.
    const badDocument = await rawPost(
      server,
      '/_bulk',
      '{"index":{"_index":"a","_id":"1"}}\n{not json}\n{"index":{"_index":"a","_id":"2"}}\n{"ok":1}\n',
    );
    expect(badDocument.status).toBe(200);
    const items = itemsOf(badDocument.json);
    expect(items.map((item) => item.status)).toEqual([400, 201]);
    expect(items[0]?.error).toMatchObject({
      type: 'mapper_parsing_exception',
      reason: 'failed to parse',
      caused_by: { type: 'json_parse_exception' },
    });
  });

  it('skips blank action lines, as the bulk parser of OpenSearch does', async () => {
    const server = await cluster();
    const answer = await rawPost(
      server,
      '/_bulk',
      '\n{"index":{"_index":"b","_id":"1"}}\n{"n":1}\n\r\n  \n{"index":{"_index":"b","_id":"2"}}\n{"n":2}\n',
    );
    expect(answer.status).toBe(200);
    expect(itemsOf(answer.json).map((item) => [item._id, item.status])).toEqual([
      ['1', 201],
      ['2', 201],
    ]);
  });

  it('answers 413 past http.max_content_length', async () => {
    const server = await cluster({ maxBodyBytes: 1024 });
    const big = `{"index":{"_index":"a"}}\n{"pad":"${'x'.repeat(2048)}"}\n`;
    expect((await rawPost(server, '/_bulk', big)).status).toBe(413);
    const zipped = await rawPost(server, '/_bulk', gzipSync(big), {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(413);
  });

  it('supports filter_path on the bulk answer', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.indices.create({
      index: 'typed',
      body: { mappings: { properties: { n: { type: 'long' } } } },
    });
    const response = await client.bulk({
      index: 'typed',
      filter_path: 'errors,items.*.error,items.*._id,items.*.status',
      body: [{ index: { _id: '1' } }, { n: 1 }, { index: { _id: '2' } }, { n: 'x' }],
    });
    expect(response.body).toEqual({
      errors: true,
      items: [
        { index: { _id: '1', status: 201 } },
        {
          index: {
            _id: '2',
            status: 400,
            error: expect.objectContaining({ type: 'mapper_parsing_exception' }) as unknown,
          },
        },
      ],
    });
  });
});

describe('OpenSearch test server: mappings', () => {
  it('raises mapper_parsing_exception for values the mapping cannot take', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.indices.create({
      index: 'typed',
      body: {
        mappings: {
          properties: {
            count: { type: 'long' },
            small: { type: 'integer' },
            flag: { type: 'boolean' },
            at: { type: 'date' },
            name: { type: 'keyword' },
            nested: { properties: { inner: { type: 'double' } } },
          },
        },
      },
    });
    const documents: Array<[unknown, number, string?]> = [
      [{ count: '42' }, 201],
      [{ count: 4.7 }, 201],
      [
        { count: 'abc' },
        400,
        `failed to parse field [count] of type [long] in document with id '2'. Preview of field's value: 'abc'`,
      ],
      [{ small: 3_000_000_000 }, 400],
      [{ flag: 'yes' }, 400],
      [{ flag: 'true' }, 201],
      [{ at: '2024-02-29T10:00:00Z' }, 201],
      [{ at: 1_700_000_000_000 }, 201],
      [{ at: 'yesterday' }, 400],
      [{ name: 12 }, 201],
      [{ name: { first: 'a' } }, 400],
      [
        { nested: 'flat' },
        400,
        'object mapping for [nested] tried to parse field [nested] as object, but found a concrete value',
      ],
      [{ nested: { inner: '1.5' } }, 201],
      [{ 'nested.inner': 'x' }, 400],
      [
        { _id: 'inside' },
        400,
        'Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters.',
      ],
      [[1, 2], 400],
    ];
    const response = await client.bulk({
      index: 'typed',
      body: documents.flatMap(([document], id) => [
        { index: { _id: String(id) } },
        document as object,
      ]),
    });
    const items = itemsOf(response.body);
    items.forEach((item, position) => {
      const [document, status, reason] = documents[position] ?? [];
      expect(item.status, JSON.stringify(document)).toBe(status);
      if (status === 400) expect(item.error?.type).toBe('mapper_parsing_exception');
      if (reason !== undefined) expect(item.error?.reason).toBe(reason);
    });
    expect(items[2]?.error?.caused_by).toEqual({
      type: 'illegal_argument_exception',
      reason: 'For input string: "abc"',
    });
    // The stored source is the document as sent, not the coerced value.
    expect(server.documents('typed').get('0')?.source).toEqual({ count: '42' });
  });

  it('maps new fields from their first value, as dynamic mapping does', async () => {
    const server = await cluster();
    const client = clientFor(server);
    const response = await client.bulk({
      index: 'dynamic',
      body: [
        { index: { _id: '1' } },
        { n: 1, s: 'text', when: '2024-01-02T03:04:05Z', ok: true, o: { x: 1.5 }, none: null },
        { index: { _id: '2' } },
        { n: 'not a number' },
        { index: { _id: '3' } },
        { s: 7 },
        { index: { _id: '4' } },
        { o: 'flat' },
        { index: { _id: '5' } },
        { fresh: 'kept', n: 'bad' },
      ],
    });
    expect(itemsOf(response.body).map((item) => item.status)).toEqual([201, 400, 201, 400, 400]);
    // A failed document adds nothing to the mapping.
    expect(server.mapping('dynamic')).toEqual({
      properties: {
        n: { type: 'long' },
        s: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
        when: { type: 'date' },
        ok: { type: 'boolean' },
        o: { properties: { x: { type: 'float' } } },
      },
    });
    expect((await client.indices.getMapping({ index: 'dynamic' })).body).toEqual({
      dynamic: { mappings: server.mapping('dynamic') },
    });
  });

  it('refuses new fields under dynamic: strict', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.indices.create({
      index: 'strict',
      body: { mappings: { dynamic: 'strict', properties: { a: { type: 'keyword' } } } },
    });
    const response = await client.bulk({
      index: 'strict',
      body: [{ index: {} }, { a: 'x' }, { index: {} }, { b: 'y' }],
    });
    const items = itemsOf(response.body);
    expect(items[1]?.error).toEqual({
      type: 'strict_dynamic_mapping_exception',
      reason: 'mapping set to strict, dynamic introduction of [b] within [_doc] is not allowed',
    });
    expect(server.documents('strict').size).toBe(1);
  });

  it('answers index_not_found_exception items when auto-creation is off', async () => {
    const server = await cluster();
    const client = clientFor(server);
    await client.cluster.putSettings({
      body: { persistent: { 'action.auto_create_index': false } },
    });
    await client.indices.create({ index: 'present' });
    const response = await client.bulk({
      body: [
        { index: { _index: 'absent', _id: '1' } },
        { a: 1 },
        { index: { _index: 'present', _id: '1' } },
        { a: 1 },
      ],
    });
    const items = itemsOf(response.body);
    expect(items[0]).toEqual({
      _index: 'absent',
      _id: '1',
      status: 404,
      error: {
        type: 'index_not_found_exception',
        reason: 'no such index [absent] and [action.auto_create_index] is [false]',
        index: 'absent',
        'resource.id': 'absent',
        'resource.type': 'index_expression',
        index_uuid: '_na_',
      },
    });
    expect(items[1]?.status).toBe(201);
    expect(server.indices()).toEqual(['present']);
    server.setAutoCreateIndex(true);
    await client.bulk({ body: [{ index: { _index: 'absent' } }, { a: 1 }] });
    expect(server.indices()).toEqual(['absent', 'present']);
  });
});

describe('OpenSearch test server: faults', () => {
  const tenDocuments = (index: string) =>
    Array.from({ length: 10 }, (_, id) => [
      { index: { _index: index, _id: String(id) } },
      { id },
    ]).flat();

  it('answers a 429 storm item by item, applying none of the rejected items', async () => {
    const server = await cluster();
    const client = clientFor(server);
    server.faults.failItems(13);
    const first = await client.bulk({ body: tenDocuments('storm') });
    expect(first.body.errors).toBe(true);
    expect(itemsOf(first.body).every((item) => item.status === 429)).toBe(true);
    expect(itemsOf(first.body)[0]?.error?.type).toBe('rejected_execution_exception');
    const second = await client.bulk({ body: tenDocuments('storm') });
    expect(itemsOf(second.body).map((item) => item.status)).toEqual([
      429, 429, 429, 201, 201, 201, 201, 201, 201, 201,
    ]);
    expect([...server.documents('storm').keys()].sort()).toEqual([
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    expect(server.bulkRequests()[1]?.items[0]).toMatchObject({ status: 429, injected: true });
    expect(server.stats()).toEqual({
      bulkRequests: 2,
      items: 20,
      succeeded: 7,
      failedByStatus: { '429': 13 },
    });
  });

  it('scripts mixed per-item failures and fails items by predicate', async () => {
    const server = await cluster();
    const client = clientFor(server);
    server.faults.scriptItems(
      'ok',
      500,
      'ok',
      { status: 503 },
      {
        status: 429,
        type: 'es_rejected_execution_exception',
      },
    );
    const remove = server.faults.failItemsWhere(
      (item) => (item.document as { id: number }).id === 9,
      { status: 400, reason: 'custom' },
    );
    const response = await client.bulk({ body: tenDocuments('mixed') });
    const items = itemsOf(response.body);
    expect(items.map((item) => item.status)).toEqual([
      201, 500, 201, 503, 429, 201, 201, 201, 201, 400,
    ]);
    expect(items[3]?.error?.type).toBe('unavailable_shards_exception');
    expect(items[4]?.error?.type).toBe('es_rejected_execution_exception');
    expect(items[9]?.error).toMatchObject({ type: 'mapper_parsing_exception', reason: 'custom' });
    remove();
    const again = await client.bulk({ body: tenDocuments('mixed') });
    expect(again.body.errors).toBe(false);
  });

  it('answers whole requests with 429, 502 and 503 as the cluster or its proxy does', async () => {
    const server = await cluster();
    const client = clientFor(server);
    server.faults.failRequests(1, 429);
    server.faults.failRequests(1, 503);
    server.faults.failRequests(1, 502);
    const failure = async () => {
      try {
        await client.bulk({ body: tenDocuments('whole') });
      } catch (error) {
        return error as errors.ResponseError;
      }
      throw new Error('the bulk succeeded');
    };
    const rejected = await failure();
    expect(rejected).toBeInstanceOf(errors.ResponseError);
    expect(rejected.statusCode).toBe(429);
    expect(rejected.body).toMatchObject({
      error: { type: 'rejected_execution_exception' },
      status: 429,
    });
    const unavailable = await failure();
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.body).toMatchObject({ error: { type: 'cluster_block_exception' } });
    const gateway = await failure();
    expect(gateway.statusCode).toBe(502);
    expect(gateway.body).toContain('502 Bad Gateway');
    expect(server.indices()).toEqual([]);
    expect(server.bulkRequests().map((request) => [request.status, request.fault])).toEqual([
      [429, 'status'],
      [503, 'status'],
      [502, 'status'],
    ]);
    // Non-bulk requests are left alone unless asked.
    expect((await client.info()).statusCode).toBe(200);
    server.faults.failRequests(1, 503, { allRequests: true });
    await expect(client.info()).rejects.toMatchObject({ statusCode: 503 });
    expect((await client.bulk({ body: tenDocuments('whole') })).body.errors).toBe(false);
  });

  it('is slow on request: writes applied first, the answer held past the client timeout', async () => {
    const server = await cluster();
    const client = clientFor(server, { requestTimeout: 200 });
    server.faults.slow(600, { count: 1 });
    await expect(client.bulk({ body: tenDocuments('slow') })).rejects.toBeInstanceOf(
      errors.TimeoutError,
    );
    // The writes landed although the client gave up: a retry must overwrite, not add.
    expect(server.documents('slow').size).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(server.bulkRequests()[0]).toMatchObject({
      status: 200,
      fault: 'slow',
      clientGone: true,
    });
    const fast = await client.bulk({ body: tenDocuments('slow') });
    expect(itemsOf(fast.body).every((item) => item.result === 'updated')).toBe(true);

    server.faults.slow(300, { count: 1, applyFirst: false });
    const started = Date.now();
    const held = clientFor(server, { requestTimeout: 5_000 });
    const pending = held.bulk({ body: tenDocuments('held') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.documents('held').size).toBe(0);
    expect((await pending).body.errors).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('drops connections before or after applying the writes', async () => {
    const server = await cluster();
    const client = clientFor(server);
    server.faults.dropConnections(1);
    server.faults.dropConnections(1, { afterApply: true });
    await expect(client.bulk({ body: tenDocuments('dropped') })).rejects.toBeInstanceOf(
      errors.ConnectionError,
    );
    expect(server.documents('dropped').size).toBe(0);
    await expect(client.bulk({ body: tenDocuments('dropped') })).rejects.toBeInstanceOf(
      errors.ConnectionError,
    );
    expect(server.documents('dropped').size).toBe(10);
    expect(server.bulkRequests().map((request) => [request.status, request.fault])).toEqual([
      [0, 'drop'],
      [0, 'drop'],
    ]);
    server.faults.failItems(100);
    server.faults.clear();
    expect((await client.bulk({ body: tenDocuments('dropped') })).body.errors).toBe(false);
  });

  it('tells onItem of every item without keeping sources or a log', async () => {
    const seen: Array<[string, number, boolean, unknown]> = [];
    const server = await cluster({
      keepSources: false,
      bulkLogLimit: 0,
      onItem: (item) => seen.push([item.id, item.status, item.injected, item.document]),
    });
    const client = clientFor(server);
    server.faults.scriptItems('ok', 429);
    await client.bulk({
      body: [
        { index: { _index: 'lean', _id: 'a' } },
        { n: 1 },
        { index: { _index: 'lean', _id: 'b' } },
        { n: 2 },
      ],
    });
    expect(seen).toEqual([
      ['a', 201, false, { n: 1 }],
      ['b', 429, true, { n: 2 }],
    ]);
    expect(server.documents('lean').get('a')).toEqual({ source: {}, version: 1 });
    expect(server.bulkRequests()).toEqual([]);
  });

  it('keeps the bulk log bounded', async () => {
    const server = await cluster({ bulkLogLimit: 3 });
    const client = clientFor(server);
    for (let round = 0; round < 5; round += 1) {
      await client.bulk({ body: [{ index: { _index: 'bounded' } }, { round }] });
    }
    expect(server.bulkRequests().map((request) => request.seq)).toEqual([2, 3, 4]);
    expect(server.stats().bulkRequests).toBe(5);
    await server.waitForDocuments('bounded', 5, 1_000);
    await expect(server.waitForDocuments('bounded', 6, 50)).rejects.toThrow(/holds 5 of 6/);
  });
});

describe('OpenSearch test server: security', () => {
  it('requires basic auth as the security plugin does, and never logs the credentials', async () => {
    const server = await cluster({ auth: { username: 'admin', password: 's3cret!' } });
    const anonymous = await fetch(server.url + '/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="OpenSearch Security"');
    expect(await anonymous.text()).toBe('Unauthorized');

    const wrong = clientFor(server, { auth: { username: 'admin', password: 'wrong' } });
    await expect(
      wrong.bulk({ body: [{ index: { _index: 'secure' } }, { a: 1 }] }),
    ).rejects.toMatchObject({ statusCode: 401 });
    expect(server.indices()).toEqual([]);

    const right = clientFor(server, { auth: { username: 'admin', password: 's3cret!' } });
    const response = await right.bulk({ body: [{ index: { _index: 'secure' } }, { a: 1 }] });
    expect(response.body.errors).toBe(false);
    const [refused, logged] = server.bulkRequests();
    expect(refused).toMatchObject({ status: 401, items: [], error: 'Unauthorized' });
    expect(refused?.headers.authorization).toBeUndefined();
    expect(logged?.status).toBe(200);
    expect(logged?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(server.bulkRequests())).not.toContain(
      Buffer.from('admin:s3cret!').toString('base64'),
    );
  });

  it('serves HTTPS with the given certificate', async () => {
    const certificates = await makeTestCertificates(cleanups);
    const { readFile } = await import('node:fs/promises');
    const server = await cluster({
      tls: {
        key: await readFile(certificates.server.key),
        cert: await readFile(certificates.server.cert),
      },
      auth: { username: 'admin', password: 'pw' },
    });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusting = clientFor(server, {
      ssl: { ca: certificates.caPem },
      auth: { username: 'admin', password: 'pw' },
    });
    const response = await trusting.bulk({ body: [{ index: { _index: 'tls' } }, { a: 1 }] });
    expect(response.body.errors).toBe(false);
    const untrusting = clientFor(server, { auth: { username: 'admin', password: 'pw' } });
    await expect(untrusting.info()).rejects.toBeInstanceOf(errors.ConnectionError);
  });

  it('closes with requests in flight', async () => {
    const server = await startOpenSearchServer();
    const client = clientFor(server, { requestTimeout: 5_000 });
    server.faults.slow(10_000);
    const pending = client.bulk({ body: [{ index: { _index: 'x' } }, { a: 1 }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.close();
    await expect(pending).rejects.toBeInstanceOf(errors.ConnectionError);
    await server.close();
  });
});
