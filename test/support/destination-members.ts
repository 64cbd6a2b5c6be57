import type { z } from 'zod';

import { parseInput } from '../../src/config/validation.js';

/**
 * A destination's create and update members read as the API reads them, for the destinations'
 * unit tests: validated against the model first (so a test sees the API's errors, which name
 * the member's path), then normalized into the stored configuration, or merged into it.
 */

/** What a destination kind's configuration module gives for its two members. */
export interface DestinationMemberSchemas<
  Create extends z.ZodType,
  Update extends z.ZodType,
  Stored,
> {
  /** The create member's name, e.g. `HttpEndpointDestinationConfiguration`. */
  createMember: string;
  createSchema: Create;
  normalize: (config: z.output<Create>, where: string) => Stored;
  /** The update member's name, e.g. `HttpEndpointDestinationUpdate`. */
  updateMember: string;
  updateSchema: Update;
  merge: (current: Stored, update: z.output<Update>, where: string) => Stored;
}

/** Reads members as `CreateDeliveryStream` and `UpdateDestination` do. */
export interface DestinationMemberReaders<Stored> {
  /** The stored configuration of a create member. */
  create: (config: Record<string, unknown>) => Stored;
  /** `current` with an update member's `members` merged in. */
  update: (current: Stored, members: Record<string, unknown>) => Stored;
}

/** The request field's path of a member, as the API's validation errors name it. */
function fieldPath(member: string): string {
  return `${member.charAt(0).toLowerCase()}${member.slice(1)}`;
}

/** {@link DestinationMemberReaders} for a destination kind's members. */
export function destinationMemberReaders<
  Create extends z.ZodType,
  Update extends z.ZodType,
  Stored,
>(schemas: DestinationMemberSchemas<Create, Update, Stored>): DestinationMemberReaders<Stored> {
  return {
    create: (config) => {
      const parsed = parseInput(schemas.createSchema, config, fieldPath(schemas.createMember));
      return schemas.normalize(parsed, schemas.createMember);
    },
    update: (current, members) => {
      const parsed = parseInput(schemas.updateSchema, members, fieldPath(schemas.updateMember));
      return schemas.merge(current, parsed, schemas.updateMember);
    },
  };
}

/**
 * The S3 configuration a destination stores (and describes) for a member that gives only its
 * `RoleARN` and `BucketARN`: Firehose's defaults filled in.
 */
export function s3WithDefaults(role: string, bucket: string): Record<string, unknown> {
  return {
    RoleARN: role,
    BucketARN: bucket,
    Prefix: '',
    BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
    CompressionFormat: 'UNCOMPRESSED',
    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: { Enabled: false },
  };
}
