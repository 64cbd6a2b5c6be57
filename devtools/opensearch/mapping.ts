import { OpenSearchFailure } from './errors.js';
import type { OpenSearchError } from './types.js';

/**
 * Index mappings for the OpenSearch test server: explicit mappings from `PUT /<index>`, dynamic
 * mapping of new fields from the first value seen, and the per-type parsing (with OpenSearch's
 * default coercion) that makes real mapping errors happen — a number string into a `long` is
 * indexed, a word into it is a `mapper_parsing_exception`, as on a real cluster.
 */

/** One field's mapping, as `GET /<index>/_mapping` shows it. */
export interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
  dynamic?: boolean | 'true' | 'false' | 'strict';
  [setting: string]: unknown;
}

/** An index's root mapping. */
export interface RootMapping {
  dynamic?: boolean | 'true' | 'false' | 'strict';
  properties?: Record<string, FieldMapping>;
}

const NUMERIC_RANGES = {
  long: [-(2 ** 63), 2 ** 63 - 1],
  integer: [-(2 ** 31), 2 ** 31 - 1],
  short: [-(2 ** 15), 2 ** 15 - 1],
  byte: [-(2 ** 7), 2 ** 7 - 1],
} as const;

const CONCRETE_TYPES = new Set([
  'keyword',
  'text',
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'boolean',
  'date',
]);

/** Fields OpenSearch keeps for itself; a document may not hold them. */
const METADATA_FIELDS = new Set([
  '_id',
  '_index',
  '_source',
  '_routing',
  '_version',
  '_seq_no',
  '_primary_term',
  '_field_names',
  '_ignored',
  '_data_stream_timestamp',
]);

/** `strict_date_optional_time` (year alone up to nanoseconds with a zone) and epoch millis. */
const DATE_OPTIONAL_TIME =
  /^[+-]?\d{4,9}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$/;
const EPOCH_MILLIS = /^-?\d+(\.\d+)?$/;
/** What dynamic date detection recognises (`dynamic_date_formats`). */
const DYNAMIC_DATE =
  /^(\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?|\d{4}\/\d{2}\/\d{2}( \d{2}:\d{2}:\d{2})?( ?[+-]\d{4})?)$/;

/**
 * Checks and normalises the `mappings` of a `PUT /<index>` body into a root mapping.
 *
 * @throws OpenSearchFailure 400 `mapper_parsing_exception` for a type this server (or
 *   OpenSearch) does not know.
 */
export function parseMappings(mappings: unknown): RootMapping {
  if (mappings === undefined || mappings === null) return {};
  if (!isObject(mappings))
    throw mapperParsing('Failed to parse mapping: mappings is not an object');
  const root: RootMapping = {};
  if (mappings.dynamic !== undefined) root.dynamic = checkDynamic(mappings.dynamic);
  if (mappings.properties !== undefined) root.properties = parseProperties(mappings.properties);
  return root;
}

function parseProperties(properties: unknown): Record<string, FieldMapping> {
  if (!isObject(properties)) throw mapperParsing('Expected map for property [properties]');
  const parsed: Record<string, FieldMapping> = {};
  for (const [name, field] of Object.entries(properties)) {
    if (!isObject(field))
      throw mapperParsing(`Expected map for property [fields] on field [${name}]`);
    const type = field.type ?? (field.properties !== undefined ? 'object' : undefined);
    if (typeof type !== 'string') {
      throw mapperParsing(`No type specified for field [${name}]`);
    }
    if (type === 'object' || type === 'nested') {
      const object: FieldMapping = { ...field };
      if (field.type === undefined) delete object.type;
      if (field.properties !== undefined) object.properties = parseProperties(field.properties);
      if (field.dynamic !== undefined) object.dynamic = checkDynamic(field.dynamic);
      parsed[name] = object;
    } else if (CONCRETE_TYPES.has(type)) {
      const concrete: FieldMapping = { ...field, type };
      if (field.fields !== undefined) concrete.fields = parseProperties(field.fields);
      parsed[name] = concrete;
    } else {
      throw mapperParsing(`No handler for type [${type}] declared on field [${name}]`);
    }
  }
  return parsed;
}

function checkDynamic(value: unknown): boolean | 'true' | 'false' | 'strict' {
  if (value === true || value === false || value === 'true' || value === 'false') return value;
  if (value === 'strict') return value;
  throw mapperParsing(`Could not convert [dynamic] to boolean: ${String(value)}`);
}

/**
 * Parses `document` against `mapping` as OpenSearch indexes it. Returns the mapping to keep
 * afterwards: `mapping` itself when no field was new, else an updated copy (the caller's mapping
 * is never changed, so a document that fails half-way leaves no trace, as on a real cluster).
 *
 * @throws OpenSearchFailure 400 `mapper_parsing_exception` (or `strict_dynamic_mapping_exception`).
 */
export function parseDocument(mapping: RootMapping, document: unknown, id: string): RootMapping {
  if (!isObject(document)) {
    throw mapperParsing('failed to parse', {
      type: 'not_x_content_exception',
      reason:
        'Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes',
    });
  }
  const readOnly = new DocumentParser(mapping, id, false);
  if (readOnly.parse(document)) return mapping;
  const updated = structuredClone(mapping);
  new DocumentParser(updated, id, true).parse(document);
  return updated;
}

/** Signals, in read-only mode, that the document adds a field (so a mutable pass is needed). */
class NewField extends Error {}

class DocumentParser {
  constructor(
    private readonly root: RootMapping,
    private readonly id: string,
    private readonly mutable: boolean,
  ) {}

  /** True when the document fits the mapping as it is. */
  parse(document: Record<string, unknown>): boolean {
    try {
      this.#object(document, this.root, '', this.root.dynamic ?? true);
      return true;
    } catch (error) {
      if (error instanceof NewField) return false;
      throw error;
    }
  }

  #object(
    object: Record<string, unknown>,
    holder: { properties?: Record<string, FieldMapping> },
    prefix: string,
    dynamic: FieldMapping['dynamic'],
  ): void {
    for (const [rawName, value] of Object.entries(object)) {
      if (prefix === '' && METADATA_FIELDS.has(rawName)) {
        throw mapperParsing(
          `Field [${rawName}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`,
        );
      }
      if (rawName.trim() === '') {
        throw mapperParsing('failed to parse', {
          type: 'illegal_argument_exception',
          reason: 'field name cannot be an empty string',
        });
      }
      // `a.b: 1` is `a: {b: 1}`, as OpenSearch expands dotted names.
      const parts = rawName.split('.');
      let target = holder;
      let path = prefix;
      let inherited = dynamic;
      for (const part of parts.slice(0, -1)) {
        path = path === '' ? part : `${path}.${part}`;
        const existing = target.properties?.[part];
        if (existing === undefined) {
          const objectMapping = this.#add(target, part, path, { type: 'object' }, inherited);
          if (objectMapping === undefined) return;
          target = objectMapping;
        } else if (existing.type !== undefined && !isObjectType(existing.type)) {
          throw mapperParsing(
            `Could not dynamically add mapping for field [${path}.${parts.at(-1)}]. Existing mapping for [${path}] must be of type object but found [${existing.type}].`,
          );
        } else {
          target = existing;
          inherited = existing.dynamic ?? inherited;
        }
      }
      const name = parts.at(-1) ?? rawName;
      this.#field(value, target, name, path === '' ? name : `${path}.${name}`, inherited);
    }
  }

  #field(
    value: unknown,
    holder: { properties?: Record<string, FieldMapping> },
    name: string,
    path: string,
    dynamic: FieldMapping['dynamic'],
  ): void {
    if (value === null) return;
    if (Array.isArray(value)) {
      for (const element of value) this.#field(element, holder, name, path, dynamic);
      return;
    }
    let mapping = holder.properties?.[name];
    if (mapping === undefined) {
      const created = this.#add(holder, name, path, dynamicMapping(value), dynamic);
      if (created === undefined) return;
      mapping = created;
    }
    const type = mapping.type ?? 'object';
    if (isObjectType(type)) {
      if (!isObject(value)) {
        throw mapperParsing(
          `object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`,
        );
      }
      this.#object(value, mapping, path, mapping.dynamic ?? dynamic);
      return;
    }
    const problem = checkValue(type, value, path);
    if (problem !== undefined) {
      throw mapperParsing(
        `failed to parse field [${path}] of type [${type}] in document with id '${this.id}'. Preview of field's value: '${preview(value)}'`,
        problem,
      );
    }
  }

  /** Adds a dynamically mapped field; undefined when `dynamic: false` leaves it unmapped. */
  #add(
    holder: { properties?: Record<string, FieldMapping> },
    name: string,
    path: string,
    mapping: FieldMapping,
    dynamic: FieldMapping['dynamic'],
  ): FieldMapping | undefined {
    if (dynamic === 'strict') {
      const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '_doc';
      throw new OpenSearchFailure(400, {
        type: 'strict_dynamic_mapping_exception',
        reason: `mapping set to strict, dynamic introduction of [${name}] within [${parent}] is not allowed`,
      });
    }
    if (dynamic === false || dynamic === 'false') return undefined;
    if (!this.mutable) throw new NewField();
    // OpenSearch shows `type: object` only on an object without properties.
    if ((holder as FieldMapping).type === 'object') delete (holder as FieldMapping).type;
    holder.properties ??= {};
    holder.properties[name] = mapping;
    return mapping;
  }
}

/** The mapping OpenSearch's dynamic mapping gives a field from its first value. */
function dynamicMapping(value: unknown): FieldMapping {
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'long' : 'float' };
  if (typeof value === 'string') {
    if (DYNAMIC_DATE.test(value)) return { type: 'date' };
    return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  }
  return { type: 'object' };
}

/** Why `value` cannot be indexed into a field of `type`, as OpenSearch's `caused_by`. */
function checkValue(type: string, value: unknown, path: string): OpenSearchError | undefined {
  if (isObject(value)) {
    return {
      type: 'illegal_state_exception',
      reason: `Can't get text on a START_OBJECT at 1:${path.length + 4}`,
    };
  }
  switch (type) {
    case 'keyword':
    case 'text':
      return undefined;
    case 'boolean':
      if (typeof value === 'boolean' || value === 'true' || value === 'false' || value === '') {
        return undefined;
      }
      return {
        type: 'illegal_argument_exception',
        reason: `Failed to parse value [${String(value)}] as only [true] or [false] are allowed.`,
      };
    case 'date':
      if (typeof value === 'number') return undefined;
      if (
        typeof value === 'string' &&
        (DATE_OPTIONAL_TIME.test(value) || EPOCH_MILLIS.test(value))
      ) {
        return undefined;
      }
      return {
        type: 'illegal_argument_exception',
        reason: `failed to parse date field [${String(value)}] with format [strict_date_optional_time||epoch_millis]`,
        caused_by: {
          type: 'date_time_parse_exception',
          reason: 'Failed to parse with all enclosed parsers',
        },
      };
    case 'double':
    case 'float':
      return toNumber(value) === undefined ? numberFormat(value) : undefined;
    default:
      return checkWhole(type as keyof typeof NUMERIC_RANGES, value);
  }
}

/** Whole-number types coerce numeric strings and truncate fractions (`coerce: true`). */
function checkWhole(
  type: keyof typeof NUMERIC_RANGES,
  value: unknown,
): OpenSearchError | undefined {
  const number = toNumber(value);
  if (number === undefined) {
    return type === 'long'
      ? { type: 'illegal_argument_exception', reason: `For input string: "${String(value)}"` }
      : numberFormat(value);
  }
  const [min, max] = NUMERIC_RANGES[type];
  const whole = Math.trunc(number);
  if (whole < min || whole > max) {
    return {
      type: 'illegal_argument_exception',
      reason: `Value [${String(value)}] is out of range for ${type === 'integer' ? 'an' : 'a'} ${type}`,
    };
  }
  return undefined;
}

function numberFormat(value: unknown): OpenSearchError {
  return { type: 'number_format_exception', reason: `For input string: "${String(value)}"` };
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** How Java prints the value in "Preview of field's value". */
function preview(value: unknown): string {
  if (isObject(value)) {
    return `{${Object.entries(value)
      .map(([key, member]) => `${key}=${preview(member)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function isObjectType(type: string): boolean {
  return type === 'object' || type === 'nested';
}

function mapperParsing(reason: string, causedBy?: OpenSearchError): OpenSearchFailure {
  return new OpenSearchFailure(400, {
    type: 'mapper_parsing_exception',
    reason,
    ...(causedBy === undefined ? {} : { caused_by: causedBy }),
  });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
