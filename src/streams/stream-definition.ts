import { z } from 'zod';
import type { Settings } from '../config/env.js';
import { awsInt, awsString, jsonObject } from '../config/validation.js';
import {
  hasFirstStage,
  type DestinationKind,
  type StoredDestination,
} from '../destinations/destination-kind.js';
import {
  FIREHOSE_DESTINATION_MEMBERS,
  FIREHOSE_DESTINATION_UPDATE_MEMBERS,
  SUPPORTED_CREATE_MEMBERS,
  SUPPORTED_UPDATE_MEMBERS,
  createMemberSchemas,
  findKindByShape,
  kindByCreateMember,
  kindByShape,
  kindByUpdateMember,
  updateMemberSchemas,
} from '../destinations/registry.js';
import { KmsKeyArnSchema } from '../destinations/s3/config.js';
import { FirehoseError } from '../errors/catalogue.js';
import type { VerifyContext } from '../destinations/destination-kind.js';
import { loadOpenSearchEndpoints } from '../destinations/opensearch/endpoints.js';
import { TableCatalog } from '../formats/parquet/table-catalog.js';
import { firstStageBuffering } from '../processors/processing-config.js';

/**
 * Delivery stream definitions: the Firehose request shapes of the stream itself
 * (CreateDeliveryStream, UpdateDestination, tags), the definition Sluice stores, and the rules
 * that turn one into the other. Everything about a destination is its kind's, looked up in the
 * destination registry (`destinations/registry.ts`).
 *
 * Request schemas carry the Firehose model's constraints (lengths, ranges, patterns, enums) so
 * that `parseInput` reports them as AWS does. What the model allows but Sluice does not
 * implement yet is rejected afterwards, by {@link definitionFromCreateInput} and
 * {@link mergeDestinationUpdate}, with an InvalidArgumentException that names the feature.
 */

// ---------------------------------------------------------------------------------------------
// Model members (names and constraints from the Firehose API model)
// ---------------------------------------------------------------------------------------------

/** `DeliveryStreamName`: 1–64 characters of `[a-zA-Z0-9_.-]`. */
export const DeliveryStreamNameSchema = awsString({ min: 1, max: 64, pattern: '[a-zA-Z0-9_.-]+' });

/** `DeliveryStreamType`, every value the model has (only DirectPut is implemented). */
export const DeliveryStreamTypeSchema = z.enum([
  'DirectPut',
  'KinesisStreamAsSource',
  'MSKAsSource',
  'DatabaseAsSource',
]);

/** `DeliveryStreamStatus`. Sluice streams are ACTIVE from creation and DELETING after Delete. */
export const DeliveryStreamStatusSchema = z.enum([
  'CREATING',
  'CREATING_FAILED',
  'DELETING',
  'DELETING_FAILED',
  'ACTIVE',
]);

/** `DeliveryStreamVersionId`: decimal digits, 1–50 characters. */
export const DeliveryStreamVersionIdSchema = awsString({ min: 1, max: 50, pattern: '[0-9]+' });

/** `DestinationId`. */
export const DestinationIdSchema = awsString({ min: 1, max: 100, pattern: '[a-zA-Z0-9-]+' });

/** `DirectPutSourceConfiguration` (the throughput hint is informational). */
export const DirectPutSourceConfigurationSchema = z.object({
  ThroughputHintInMBs: awsInt(1, 100),
});

/** `DeliveryStreamEncryptionConfigurationInput` (server-side encryption, which Sluice refuses for now). */
export const DeliveryStreamEncryptionConfigurationInputSchema = z.object({
  KeyARN: KmsKeyArnSchema.optional(),
  KeyType: z.enum(['AWS_OWNED_CMK', 'CUSTOMER_MANAGED_CMK']),
});

/** `TagKey`: 1–128 characters, not starting with `aws:`. */
export const TagKeySchema = awsString({
  min: 1,
  max: 128,
  pattern: '^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
});

/** `TagValue`: 0–256 characters. */
export const TagValueSchema = awsString({
  min: 0,
  max: 256,
  pattern: '^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
});

/** `Tag`. */
export const TagSchema = z.object({ Key: TagKeySchema, Value: TagValueSchema.optional() });

/** `TagDeliveryStreamInputTagList`: 1–50 tags (CreateDeliveryStream and TagDeliveryStream). */
export const TagListSchema = z.array(TagSchema).min(1).max(50);

/** `TagKeyList`: 1–50 keys (UntagDeliveryStream). */
export const TagKeyListSchema = z.array(TagKeySchema).min(1).max(50);

/** The most tags one stream may carry. */
export const MAX_TAGS_PER_STREAM = 50;

/** Source configuration members for stream types other than DirectPut. */
export const UNSUPPORTED_SOURCE_CONFIGURATIONS = [
  'KinesisStreamSourceConfiguration',
  'MSKSourceConfiguration',
  'DatabaseSourceConfiguration',
] as const;

const unsupportedMembers = <const K extends readonly string[]>(names: K) =>
  Object.fromEntries(names.map((n) => [n, jsonObject.optional()])) as {
    [P in K[number]]: z.ZodOptional<typeof jsonObject>;
  };

/**
 * `CreateDeliveryStreamInput`. Members Sluice does not implement are typed as any JSON object:
 * their presence is what matters, and it is rejected after validation.
 */
export const CreateDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  DeliveryStreamType: DeliveryStreamTypeSchema.optional(),
  DirectPutSourceConfiguration: DirectPutSourceConfigurationSchema.optional(),
  DeliveryStreamEncryptionConfigurationInput:
    DeliveryStreamEncryptionConfigurationInputSchema.optional(),
  Tags: TagListSchema.optional(),
  ...unsupportedMembers(UNSUPPORTED_SOURCE_CONFIGURATIONS),
  ...createMemberSchemas(),
});

/** `UpdateDestinationInput`. */
export const UpdateDestinationInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  CurrentDeliveryStreamVersionId: DeliveryStreamVersionIdSchema,
  DestinationId: DestinationIdSchema,
  ...updateMemberSchemas(),
});

/** A validated CreateDeliveryStream request. */
export type CreateDeliveryStreamInput = z.infer<typeof CreateDeliveryStreamInputSchema> &
  Partial<Record<string, unknown>>;
/** A validated UpdateDestination request. */
export type UpdateDestinationInput = z.infer<typeof UpdateDestinationInputSchema> &
  Partial<Record<string, unknown>>;
/** A tag as Firehose names it. */
export type Tag = z.infer<typeof TagSchema>;
/** A delivery stream type. */
export type DeliveryStreamType = z.infer<typeof DeliveryStreamTypeSchema>;

// ---------------------------------------------------------------------------------------------
// The stored definition
// ---------------------------------------------------------------------------------------------

/** The only destination id a Sluice stream has (Firehose streams have one destination). */
export const DESTINATION_ID = 'destinationId-000000000001';

/**
 * The stream's destination: its kind's shape (`ExtendedS3`, `S3`, `HttpEndpoint`, …) and the
 * configuration as that kind stores it, checked by the kind's stored schema.
 */
export const StreamDestinationSchema = z
  .object({ shape: z.string(), config: z.unknown() })
  .transform((destination, ctx): StoredDestination => {
    const kind = findKindByShape(destination.shape);
    if (kind === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown destination type ${JSON.stringify(destination.shape)}`,
      });
      return z.NEVER;
    }
    const parsed = kind.storedSchema.safeParse(destination.config);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: parsed.error.message });
      return z.NEVER;
    }
    return { shape: destination.shape, config: parsed.data };
  });

/** A stored tag. */
export const StoredTagSchema = z.object({ Key: z.string(), Value: z.string().optional() });

/** A delivery stream as Sluice stores it (JSON in the stream's Redis hash). */
export const StreamDefinitionSchema = z.object({
  name: z.string(),
  /** `arn:aws:firehose:<region>:<account>:deliverystream/<name>`. */
  arn: z.string(),
  status: DeliveryStreamStatusSchema,
  type: z.literal('DirectPut'),
  /** Starts at 1; every UpdateDestination adds 1. */
  versionId: z.number().int().min(1),
  /** Epoch milliseconds. */
  createTimestamp: z.number(),
  /** Epoch milliseconds of creation or the last destination update. */
  lastUpdateTimestamp: z.number(),
  destination: StreamDestinationSchema,
  /** Sorted by key. */
  tags: z.array(StoredTagSchema),
  /** `DirectPutSourceConfiguration`, when the stream was created with one. */
  source: DirectPutSourceConfigurationSchema.optional(),
});

/** A stored tag. */
export type StoredTag = z.infer<typeof StoredTagSchema>;
/** A delivery stream as Sluice stores it. */
export type StreamDefinition = z.infer<typeof StreamDefinitionSchema>;

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

const invalid = (message: string): FirehoseError =>
  new FirehoseError('InvalidArgumentException', message);

/** The ARN Sluice gives a stream: `arn:aws:firehose:<region>:<account>:deliverystream/<name>`. */
export function streamArn(name: string, settings: Settings): string {
  return `arn:aws:firehose:${settings.SLUICE_REGION}:${settings.SLUICE_ACCOUNT_ID}:deliverystream/${name}`;
}

/**
 * The one destination member a request names among `members`.
 *
 * @throws FirehoseError `InvalidArgumentException` when it names none or several.
 */
function oneDestinationMember(
  input: Record<string, unknown>,
  members: readonly string[],
  noun: string,
  supported: readonly string[],
): string {
  const given = members.filter((member) => input[member] !== undefined);
  if (given.length === 0) {
    throw invalid(
      `Exactly one destination ${noun} is required, but the request has none. Sluice supports ${supported.join(', ')}.`,
    );
  }
  if (given.length > 1) {
    // Firehose's own message, followed by what the request named.
    throw invalid(
      `Exactly one destination ${noun} is supported for a Firehose, but the request has ${given.length}: ${given.join(', ')}.`,
    );
  }
  return given[0] as string;
}

/**
 * Checks a validated CreateDeliveryStream request against what Sluice implements and builds
 * the stream's definition: ACTIVE, version 1, defaults filled in, tags sorted.
 *
 * @throws FirehoseError `InvalidArgumentException` naming the first unsupported feature or
 *   broken rule.
 */
export function definitionFromCreateInput(
  input: CreateDeliveryStreamInput,
  settings: Settings,
  nowMs: number,
): StreamDefinition {
  const type = input.DeliveryStreamType ?? 'DirectPut';
  if (type !== 'DirectPut') {
    throw invalid(
      `DeliveryStreamType ${type} is not supported by Sluice yet; only DirectPut streams are.`,
    );
  }
  for (const member of UNSUPPORTED_SOURCE_CONFIGURATIONS) {
    if (input[member] !== undefined) {
      throw invalid(`${member} is not supported by Sluice yet; only DirectPut streams are.`);
    }
  }
  if (input.DeliveryStreamEncryptionConfigurationInput !== undefined) {
    throw invalid(
      'DeliveryStreamEncryptionConfigurationInput: server-side encryption is not supported by Sluice yet.',
    );
  }
  const member = oneDestinationMember(
    input,
    FIREHOSE_DESTINATION_MEMBERS,
    'configuration',
    SUPPORTED_CREATE_MEMBERS,
  );
  const kind = kindByCreateMember(member);
  if (kind === undefined) {
    throw invalid(
      `${member} is not supported by Sluice yet; use one of ${SUPPORTED_CREATE_MEMBERS.join(', ')}.`,
    );
  }
  const destination: StoredDestination = {
    shape: kind.shape,
    config: kind.normalize(input[member], member),
  };

  return {
    name: input.DeliveryStreamName,
    arn: streamArn(input.DeliveryStreamName, settings),
    status: 'ACTIVE',
    type: 'DirectPut',
    versionId: 1,
    createTimestamp: nowMs,
    lastUpdateTimestamp: nowMs,
    destination,
    tags: normalizeTags(input.Tags ?? []),
    ...(input.DirectPutSourceConfiguration
      ? { source: { ThroughputHintInMBs: input.DirectPutSourceConfiguration.ThroughputHintInMBs } }
      : {}),
  };
}

/** The destination update an UpdateDestination request carries, and the kind it is for. */
export interface SelectedDestinationUpdate {
  /** The request member, e.g. `HttpEndpointDestinationUpdate`. */
  member: string;
  kind: DestinationKind;
  /** The member's validated value. */
  update: unknown;
}

/**
 * Picks the destination update out of a validated UpdateDestination request.
 *
 * @throws FirehoseError `InvalidArgumentException` when there is none, more than one, or one
 *   for a destination Sluice does not implement.
 */
export function selectDestinationUpdate(input: UpdateDestinationInput): SelectedDestinationUpdate {
  const member = oneDestinationMember(
    input,
    FIREHOSE_DESTINATION_UPDATE_MEMBERS,
    'update',
    SUPPORTED_UPDATE_MEMBERS,
  );
  const kind = kindByUpdateMember(member);
  if (kind === undefined) {
    throw invalid(
      `${member} is not supported by Sluice yet; use one of ${SUPPORTED_UPDATE_MEMBERS.join(', ')}.`,
    );
  }
  return { member, kind, update: input[member] };
}

/**
 * Applies a destination update with Firehose's semantics: an update for the destination's own
 * type (family) is merged — members the update names replace the current ones, structures as
 * a whole, everything else is kept; an update for another type replaces the destination, so
 * it must be complete. Kinds that cannot change type (`switchable: false`) refuse it.
 *
 * @throws FirehoseError `InvalidArgumentException` when the result breaks a rule or asks for
 *   something Sluice does not implement.
 */
export function mergeDestinationUpdate(
  current: StoredDestination,
  selected: SelectedDestinationUpdate,
): StoredDestination {
  const currentKind = kindByShape(current.shape);
  const { kind, update, member } = selected;
  if (kind.family === currentKind.family) return kind.merge(current, update);
  if (!currentKind.switchable || !kind.switchable) {
    throw invalid(
      `${member} cannot be applied: the stream's destination is ${currentKind.createMember}, and Sluice, like Firehose, does not change ${kind.switchable ? currentKind.createMember : kind.createMember} destinations to or from another type. Create a new stream instead.`,
    );
  }
  return { shape: kind.shape, config: kind.replaceWith(update, member) };
}

/**
 * Whether two normalized destinations are the same, member by member (key order ignored). A
 * streams file uses it to tell whether a declared destination differs from the stored one.
 */
export function sameDestination(a: StoredDestination, b: StoredDestination): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Whether puts to the stream must carry gzip records: its destination has the Decompression
 * processor, and Firehose then accepts only CloudWatch Logs data (`InvalidSourceException`).
 * Sluice cannot tell who sent a request, so it holds puts to what CloudWatch Logs sends.
 */
export function acceptsOnlyGzip(def: StreamDefinition): boolean {
  return kindByShape(def.destination.shape)
    .processing(def.destination.config)
    .processors.some((processor) => processor.Type === 'Decompression');
}

/**
 * The stream buffer's thresholds, in the units the buffer works in: the destination's
 * buffering hints, or, for a stream with processing or dynamic partitioning, the first
 * stage's (the destination's hints then apply to the partition buffers).
 */
export function bufferingOf(def: StreamDefinition): { sizeBytes: number; intervalMs: number } {
  const kind = kindByShape(def.destination.shape);
  const destination = kind.buffering(def.destination.config);
  const processing = kind.processing(def.destination.config);
  if (!hasFirstStage(processing)) return destination;
  return firstStageBuffering(processing.processors, processing.partitioning, destination);
}

/**
 * Checks a tag list for repeated keys and sorts it by key (the order ListTagsForDeliveryStream
 * pages in).
 *
 * @throws FirehoseError `InvalidArgumentException` when a key appears twice.
 */
export function normalizeTags(tags: readonly Tag[]): StoredTag[] {
  const seen = new Set<string>();
  for (const tag of tags) {
    if (seen.has(tag.Key))
      throw invalid(`Tag key ${tag.Key} appears more than once in the request.`);
    seen.add(tag.Key);
  }
  return tags
    .map((t) => (t.Value === undefined ? { Key: t.Key } : { Key: t.Key, Value: t.Value }))
    .sort((a, b) => compareKeys(a.Key, b.Key));
}

/** Code-unit order, the order Firehose lists names and tag keys in. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** JSON with object keys sorted and undefined members dropped, for structural comparison. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareKeys(a, b)),
        )
      : v,
  );
}

/**
 * Checks a destination about to be stored against what lives outside the request (the table
 * catalog a format conversion names, the endpoints OpenSearch domains stand for): its kind's
 * `verify`.
 *
 * @throws FirehoseError `InvalidArgumentException` saying what is missing.
 */
export function verifyDestination(destination: StoredDestination, outside: VerifyContext): void {
  kindByShape(destination.shape).verify?.(destination.config, outside);
}

/**
 * What destinations are checked against when no service made it: the table catalog and the
 * OpenSearch endpoints as the settings name them, read now.
 *
 * @throws Error when `SLUICE_OPENSEARCH_ENDPOINTS` cannot be read.
 */
export function verifyContextFromSettings(settings: Settings): VerifyContext {
  return {
    catalog: new TableCatalog(settings.SLUICE_CATALOG_DIR),
    openSearchEndpoints: loadOpenSearchEndpoints(settings.SLUICE_OPENSEARCH_ENDPOINTS),
  };
}
