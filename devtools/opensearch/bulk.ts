import { OpenSearchFailure, illegalArgument } from './errors.js';
import { isObject } from './mapping.js';
import type { BulkAction } from './types.js';

/**
 * Parses a `_bulk` NDJSON body into operations the way OpenSearch's bulk request parser does:
 * a malformed action line, a bad update body or a missing index fails the whole request (400);
 * a bad document line of an `index`/`create` only fails its item later, when it is indexed.
 */

/** The body of an `update` action. */
export interface UpdateBody {
  doc: Record<string, unknown> | undefined;
  upsert: Record<string, unknown> | undefined;
  docAsUpsert: boolean;
  detectNoop: boolean;
  script: boolean;
}

/** One parsed bulk operation. */
export interface BulkOperation {
  action: BulkAction;
  index: string;
  /** The `_id` sent; undefined for a server-generated one. */
  id: string | undefined;
  /** The parsed document line of `index`/`create`; undefined when it is not JSON. */
  document: unknown;
  /** The JSON error of an `index`/`create` document line that does not parse. */
  documentError: string | undefined;
  /** The document line was empty. */
  documentEmpty: boolean;
  update: UpdateBody | undefined;
  ifSeqNo: number | undefined;
  ifPrimaryTerm: number | undefined;
  /** External versioning was asked for, which this server does not emulate. */
  externalVersion: boolean;
}

const ACTIONS = new Set<string>(['index', 'create', 'update', 'delete']);

const ACTION_PARAMETERS = new Set([
  '_index',
  '_id',
  'routing',
  'op_type',
  'version',
  'version_type',
  'if_seq_no',
  'if_primary_term',
  'retry_on_conflict',
  'pipeline',
  '_source',
  'require_alias',
]);

const UPDATE_FIELDS = new Set([
  'doc',
  'upsert',
  'doc_as_upsert',
  'detect_noop',
  'script',
  'scripted_upsert',
  '_source',
]);

/** OpenSearch's limit on `_id` (`IndexRequest.MAX_DOCUMENT_ID_LENGTH_IN_BYTES`). */
const MAX_ID_BYTES = 512;

/**
 * Parses `body` (already decoded) into operations; `defaultIndex` is the index of a
 * `/<index>/_bulk` path.
 *
 * @throws OpenSearchFailure for a request OpenSearch refuses as a whole.
 */
export function parseBulkBody(body: string, defaultIndex: string | undefined): BulkOperation[] {
  if (body.length === 0) {
    throw new OpenSearchFailure(400, {
      type: 'parse_exception',
      reason: 'request body is required',
    });
  }
  if (!body.endsWith('\n')) {
    throw new OpenSearchFailure(
      400,
      illegalArgument('The bulk request must be terminated by a newline [\\n]'),
    );
  }
  const lines = body.slice(0, -1).split('\n');
  const operations: BulkOperation[] = [];
  const validation: string[] = [];
  let lineNumber = 0;
  while (lineNumber < lines.length) {
    const actionLine = stripCarriageReturn(lines[lineNumber] ?? '');
    lineNumber += 1;
    // OpenSearch's BulkRequestParser skips an action line with no token at all (a blank line).
    if (actionLine.trim() === '') continue;
    const { action, metadata } = parseActionLine(actionLine, lineNumber);
    const index = stringParameter(metadata._index, '_index', lineNumber) ?? defaultIndex;
    const id = stringParameter(metadata._id, '_id', lineNumber);
    const opType = stringParameter(metadata.op_type, 'op_type', lineNumber);
    const operation: BulkOperation = {
      action: action === 'index' && opType === 'create' ? 'create' : action,
      index: index ?? '',
      id,
      document: undefined,
      documentError: undefined,
      documentEmpty: false,
      update: undefined,
      ifSeqNo: numberParameter(metadata.if_seq_no, 'if_seq_no', lineNumber),
      ifPrimaryTerm: numberParameter(metadata.if_primary_term, 'if_primary_term', lineNumber),
      externalVersion: metadata.version !== undefined || metadata.version_type !== undefined,
    };
    if (opType !== undefined && opType !== 'index' && opType !== 'create') {
      throw new OpenSearchFailure(
        400,
        illegalArgument(`opType must be 'create' or 'index', found: [${opType}]`),
      );
    }
    if (action !== 'delete') {
      // An action whose document line is missing ends the request, as OpenSearch's parser does.
      if (lineNumber >= lines.length) break;
      const documentLine = stripCarriageReturn(lines[lineNumber] ?? '');
      lineNumber += 1;
      if (action === 'update') {
        operation.update = parseUpdateBody(documentLine, lineNumber);
      } else if (documentLine.trim() === '') {
        operation.documentEmpty = true;
      } else {
        try {
          operation.document = JSON.parse(documentLine) as unknown;
        } catch (error) {
          operation.documentError = (error as Error).message;
        }
      }
    }
    const position = operations.length + 1;
    if (operation.index === '') validation.push(`${position}: index is missing`);
    if (id === '') validation.push(`${position}: if _id is specified it must not be empty`);
    if (id !== undefined && Buffer.byteLength(id) > MAX_ID_BYTES) {
      validation.push(
        `${position}: id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id)}`,
      );
    }
    if ((action === 'update' || action === 'delete') && id === undefined) {
      validation.push(`${position}: id is missing`);
    }
    operations.push(operation);
  }
  if (operations.length === 0) validation.push('1: no requests added');
  if (validation.length > 0) {
    throw new OpenSearchFailure(400, {
      type: 'action_request_validation_exception',
      reason: `Validation Failed: ${validation.map((problem) => `${problem};`).join('')}`,
    });
  }
  return operations;
}

function parseActionLine(
  line: string,
  lineNumber: number,
): { action: BulkAction; metadata: Record<string, unknown> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw jsonParseFailure(error, lineNumber);
  }
  if (!isObject(parsed)) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], expected START_OBJECT or END_OBJECT but found [${tokenName(parsed)}]`,
      ),
    );
  }
  const keys = Object.keys(parsed);
  const action = keys[0];
  if (action === undefined) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], expected FIELD_NAME but found [END_OBJECT]`,
      ),
    );
  }
  if (!ACTIONS.has(action)) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], expected one of [create, delete, index, update] but found [${action}]`,
      ),
    );
  }
  const metadata = parsed[action];
  if (!isObject(metadata)) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], expected START_OBJECT but found [${tokenName(metadata)}]`,
      ),
    );
  }
  if (keys.length > 1) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], expected END_OBJECT but found [FIELD_NAME]`,
      ),
    );
  }
  for (const [parameter, value] of Object.entries(metadata)) {
    if (!ACTION_PARAMETERS.has(parameter)) {
      throw new OpenSearchFailure(
        400,
        illegalArgument(
          `Action/metadata line [${lineNumber}] contains an unknown parameter [${parameter}]`,
        ),
      );
    }
    if (isObject(value) || Array.isArray(value)) {
      if (parameter === '_source') continue;
      throw new OpenSearchFailure(
        400,
        illegalArgument(
          `Malformed action/metadata line [${lineNumber}], expected a simple value for field [${parameter}] but found [${tokenName(value)}]`,
        ),
      );
    }
  }
  return { action: action as BulkAction, metadata };
}

function parseUpdateBody(line: string, lineNumber: number): UpdateBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw jsonParseFailure(error, lineNumber);
  }
  if (!isObject(parsed)) {
    throw new OpenSearchFailure(400, {
      type: 'x_content_parse_exception',
      reason: `[1:1] [UpdateRequest] Expected START_OBJECT but was: ${tokenName(parsed)}`,
    });
  }
  for (const field of Object.keys(parsed)) {
    if (!UPDATE_FIELDS.has(field)) {
      throw new OpenSearchFailure(400, {
        type: 'x_content_parse_exception',
        reason: `[1:2] [UpdateRequest] unknown field [${field}]`,
      });
    }
  }
  const objectField = (name: 'doc' | 'upsert'): Record<string, unknown> | undefined => {
    const value = parsed[name];
    if (value === undefined) return undefined;
    if (!isObject(value)) {
      throw new OpenSearchFailure(400, {
        type: 'x_content_parse_exception',
        reason: `[1:${name.length + 4}] [UpdateRequest] failed to parse field [${name}]`,
      });
    }
    return value;
  };
  return {
    doc: objectField('doc'),
    upsert: objectField('upsert'),
    docAsUpsert: parsed.doc_as_upsert === true || parsed.doc_as_upsert === 'true',
    detectNoop: parsed.detect_noop !== false && parsed.detect_noop !== 'false',
    script: parsed.script !== undefined,
  };
}

function stringParameter(value: unknown, name: string, lineNumber: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new OpenSearchFailure(
    400,
    illegalArgument(
      `Malformed action/metadata line [${lineNumber}], field [${name}] is not a value`,
    ),
  );
}

function numberParameter(value: unknown, name: string, lineNumber: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number)) {
    throw new OpenSearchFailure(
      400,
      illegalArgument(
        `Malformed action/metadata line [${lineNumber}], field [${name}] is not a number`,
      ),
    );
  }
  return number;
}

function jsonParseFailure(error: unknown, lineNumber: number): OpenSearchFailure {
  return new OpenSearchFailure(400, {
    type: 'json_parse_exception',
    reason: `${(error as Error).message} at line ${lineNumber}`,
  });
}

function tokenName(value: unknown): string {
  if (value === null) return 'VALUE_NULL';
  if (Array.isArray(value)) return 'START_ARRAY';
  switch (typeof value) {
    case 'string':
      return 'VALUE_STRING';
    case 'number':
      return Number.isInteger(value) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
    case 'boolean':
      return 'VALUE_BOOLEAN';
    default:
      return 'START_OBJECT';
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
