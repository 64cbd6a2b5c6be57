import type { z } from 'zod';
import { jsonObject } from '../config/validation.js';
import type { DestinationKind } from './destination-kind.js';
import { httpEndpointKind } from './http/index.js';
import { elasticsearchKind, openSearchServiceKind } from './opensearch/index.js';
import { redshiftKind } from './redshift/index.js';
import { extendedS3Kind, plainS3Kind } from './s3/index.js';

/**
 * The destination registry: every destination kind Sluice delivers to, listed once. Create,
 * update, describe, buffering and delivery look kinds up here; nothing else names a kind.
 * A new destination is a new folder with the same few files and one line below.
 */
export const DESTINATION_KINDS: readonly DestinationKind[] = [
  extendedS3Kind,
  plainS3Kind,
  httpEndpointKind,
  openSearchServiceKind,
  elasticsearchKind,
  redshiftKind,
];

/** Every destination member of CreateDeliveryStream in Firehose's model, supported or not. */
export const FIREHOSE_DESTINATION_MEMBERS = [
  'ExtendedS3DestinationConfiguration',
  'S3DestinationConfiguration',
  'RedshiftDestinationConfiguration',
  'ElasticsearchDestinationConfiguration',
  'AmazonopensearchserviceDestinationConfiguration',
  'SplunkDestinationConfiguration',
  'HttpEndpointDestinationConfiguration',
  'AmazonOpenSearchServerlessDestinationConfiguration',
  'SnowflakeDestinationConfiguration',
  'IcebergDestinationConfiguration',
] as const;

/** Every destination member of UpdateDestination in Firehose's model, supported or not. */
export const FIREHOSE_DESTINATION_UPDATE_MEMBERS = [
  'ExtendedS3DestinationUpdate',
  'S3DestinationUpdate',
  'RedshiftDestinationUpdate',
  'ElasticsearchDestinationUpdate',
  'AmazonopensearchserviceDestinationUpdate',
  'SplunkDestinationUpdate',
  'HttpEndpointDestinationUpdate',
  'AmazonOpenSearchServerlessDestinationUpdate',
  'SnowflakeDestinationUpdate',
  'IcebergDestinationUpdate',
] as const;

const byShape = new Map(DESTINATION_KINDS.map((k) => [k.shape, k]));
const byCreateMember = new Map(DESTINATION_KINDS.map((k) => [k.createMember, k]));
const byUpdateMember = new Map(DESTINATION_KINDS.map((k) => [k.updateMember, k]));
const byPlanDestination = new Map(DESTINATION_KINDS.map((k) => [k.planDestination, k]));

/** The kind of a stored destination shape, or undefined for one this version does not know. */
export function findKindByShape(shape: string): DestinationKind | undefined {
  return byShape.get(shape);
}

/**
 * The kind of a stored destination shape.
 *
 * @throws Error for a shape this version does not know (a definition written by a newer one).
 */
export function kindByShape(shape: string): DestinationKind {
  const kind = byShape.get(shape);
  if (kind === undefined) throw new Error(`unknown destination type ${JSON.stringify(shape)}`);
  return kind;
}

/** The kind a CreateDeliveryStream member creates, or undefined when Sluice has none. */
export function kindByCreateMember(member: string): DestinationKind | undefined {
  return byCreateMember.get(member);
}

/** The kind an UpdateDestination member updates, or undefined when Sluice has none. */
export function kindByUpdateMember(member: string): DestinationKind | undefined {
  return byUpdateMember.get(member);
}

/** The kind that carries out plans with this `destination`, or undefined. */
export function kindByPlanDestination(destination: string): DestinationKind | undefined {
  return byPlanDestination.get(destination);
}

/** The supported create members, for messages. */
export const SUPPORTED_CREATE_MEMBERS = DESTINATION_KINDS.map((k) => k.createMember);

/** The supported update members, for messages. */
export const SUPPORTED_UPDATE_MEMBERS = DESTINATION_KINDS.map((k) => k.updateMember);

/** Request schema members for CreateDeliveryStream: each kind's schema, any object for the rest. */
export function createMemberSchemas(): Record<string, z.ZodOptional<z.ZodType>> {
  return memberSchemas(FIREHOSE_DESTINATION_MEMBERS, (m) => byCreateMember.get(m)?.createSchema);
}

/** Request schema members for UpdateDestination: each kind's schema, any object for the rest. */
export function updateMemberSchemas(): Record<string, z.ZodOptional<z.ZodType>> {
  return memberSchemas(
    FIREHOSE_DESTINATION_UPDATE_MEMBERS,
    (m) => byUpdateMember.get(m)?.updateSchema,
  );
}

/**
 * Members of destinations Sluice does not implement are typed as any JSON object: their
 * presence is what matters, and it is refused after validation, naming the member.
 */
function memberSchemas(
  members: readonly string[],
  schemaOf: (member: string) => z.ZodType | undefined,
): Record<string, z.ZodOptional<z.ZodType>> {
  return Object.fromEntries(members.map((m) => [m, (schemaOf(m) ?? jsonObject).optional()]));
}
