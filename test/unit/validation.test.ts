import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  awsInt,
  awsString,
  memberPath,
  parseInput,
  renderValue,
  validationMessage,
} from '../../src/config/validation.js';
import {
  CreateDeliveryStreamInputSchema,
  DeliveryStreamNameSchema,
  TagListSchema,
} from '../../src/streams/stream-definition.js';
import { firehoseErrorOf } from '../support/firehose-error.js';

const NameInput = z.object({ DeliveryStreamName: DeliveryStreamNameSchema });

describe('validationMessage', () => {
  it('phrases one violation as AWS does', () => {
    expect(
      validationMessage([
        {
          value: 'x'.repeat(3),
          path: 'deliveryStreamName',
          constraint: 'Member must have length less than or equal to 64',
        },
      ]),
    ).toBe(
      "1 validation error detected: Value 'xxx' at 'deliveryStreamName' failed to satisfy constraint: Member must have length less than or equal to 64",
    );
  });

  it('counts several and joins them with "; "', () => {
    expect(
      validationMessage([
        {
          value: '0',
          path: 'limit',
          constraint: 'Member must have value greater than or equal to 1',
        },
        { value: null, path: 'deliveryStreamName', constraint: 'Member must not be null' },
      ]),
    ).toBe(
      "2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
    );
  });
});

describe('memberPath', () => {
  it('lower-cases the first letter of members and numbers list items from 1', () => {
    expect(memberPath(['Records', 96, 'Data'])).toBe('records.97.member.data');
    expect(memberPath(['TagKeys', 2])).toBe('tagKeys.3.member');
    expect(memberPath(['ExtendedS3DestinationConfiguration', 'RoleARN'])).toBe(
      'extendedS3DestinationConfiguration.roleARN',
    );
  });

  it('prefixes a root path', () => {
    expect(memberPath(['SizeInMBs'], 'bufferingHints')).toBe('bufferingHints.sizeInMBs');
  });
});

describe('renderValue', () => {
  it('renders scalars, lists and structures in Java style', () => {
    expect(renderValue('abc')).toBe('abc');
    expect(renderValue(42)).toBe('42');
    expect(renderValue(false)).toBe('false');
    expect(renderValue(['a', 'b'])).toBe('[a, b]');
    expect(renderValue({ Key: 'k', Value: 'v' })).toBe('{Key=k, Value=v}');
  });

  it('truncates long values to 256 characters', () => {
    const rendered = renderValue('y'.repeat(100_000));
    expect(rendered).toHaveLength(256);
    expect(rendered.endsWith('...')).toBe(true);
    expect(renderValue(Array.from({ length: 10_000 }, () => 'item'))).toHaveLength(256);
  });
});

describe('parseInput', () => {
  it('returns the parsed value and ignores unknown members', () => {
    expect(parseInput(NameInput, { DeliveryStreamName: 'a-b_c.1', Surprise: { x: 1 } })).toEqual({
      DeliveryStreamName: 'a-b_c.1',
    });
  });

  it('reports a missing member as "must not be null"', () => {
    const error = firehoseErrorOf(() => parseInput(NameInput, {}));
    expect(error.type).toBe('ValidationException');
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
    );
  });

  it('treats JSON null members as absent', () => {
    const error = firehoseErrorOf(() => parseInput(NameInput, { DeliveryStreamName: null }));
    expect(error.message).toContain("Value null at 'deliveryStreamName'");
    const Optional = z.object({ Limit: awsInt(1, 10).optional() });
    expect(parseInput(Optional, { Limit: null })).toEqual({});
  });

  it('reports every violated constraint of a member, with the model pattern verbatim', () => {
    const name = `${'n'.repeat(64)}!`;
    const error = firehoseErrorOf(() => parseInput(NameInput, { DeliveryStreamName: name }));
    expect(error.message).toBe(
      `2 validation errors detected: Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must have length less than or equal to 64; Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
    );
  });

  it('phrases length minimums, value ranges and enums', () => {
    const Schema = z.object({
      Name: awsString({ min: 1 }),
      Limit: awsInt(1, 10_000),
      Kind: z.enum(['DirectPut', 'KinesisStreamAsSource']),
    });
    const error = firehoseErrorOf(() =>
      parseInput(Schema, { Name: '', Limit: 10_001, Kind: 'Direct' }),
    );
    expect(error.message).toBe(
      "3 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000; Value 'Direct' at 'kind' failed to satisfy constraint: Member must satisfy enum value set: [DirectPut, KinesisStreamAsSource]",
    );
    expect(
      firehoseErrorOf(() => parseInput(Schema, { Name: 'x', Limit: 0, Kind: 'DirectPut' })).message,
    ).toContain(
      "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  it('reports an out-of-range huge integer once, with the model bound', () => {
    const error = firehoseErrorOf(() =>
      parseInput(z.object({ Limit: awsInt(1, 50) }), { Limit: 1e20 }),
    );
    expect(error.message).toMatch(/^1 validation error detected: /);
    expect(error.message).toContain('Member must have value less than or equal to 50');
  });

  it('paths list items as <list>.<n>.member.<field>', () => {
    const Schema = z.object({ Tags: TagListSchema });
    const error = firehoseErrorOf(() =>
      parseInput(Schema, {
        Tags: [{ Key: 'ok' }, { Key: 'aws:reserved', Value: 'v' }, { Value: 'x' }],
      }),
    );
    expect(error.message).toBe(
      "2 validation errors detected: Value 'aws:reserved' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$; Value null at 'tags.3.member.key' failed to satisfy constraint: Member must not be null",
    );
  });

  it('checks list lengths', () => {
    const Schema = z.object({ Tags: TagListSchema });
    expect(firehoseErrorOf(() => parseInput(Schema, { Tags: [] })).message).toBe(
      "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` }));
    expect(firehoseErrorOf(() => parseInput(Schema, { Tags: many })).message).toContain(
      "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  });

  it('prefixes paths with rootPath', () => {
    const error = firehoseErrorOf(() =>
      parseInput(z.object({ SizeInMBs: awsInt(1, 128) }), { SizeInMBs: 0 }, 'bufferingHints'),
    );
    expect(error.message).toContain("at 'bufferingHints.sizeInMBs'");
  });

  describe('wrong JSON types are SerializationException', () => {
    const create = (destination: unknown) => () =>
      parseInput(CreateDeliveryStreamInputSchema, {
        DeliveryStreamName: 's',
        ExtendedS3DestinationConfiguration: destination,
      });

    it('a string where an integer belongs', () => {
      const error = firehoseErrorOf(
        create({
          RoleARN: 'arn:aws:iam::123456789012:role/r',
          BucketARN: 'arn:aws:s3:::b',
          BufferingHints: { SizeInMBs: '5', IntervalInSeconds: 60 },
        }),
      );
      expect(error.type).toBe('SerializationException');
      expect(error.message).toBe(
        "Member 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' must be an integer, but the request has a string (5)",
      );
    });

    it('a fractional number where an integer belongs', () => {
      const error = firehoseErrorOf(
        create({
          RoleARN: 'arn:aws:iam::123456789012:role/r',
          BucketARN: 'arn:aws:s3:::b',
          BufferingHints: { SizeInMBs: 5.5, IntervalInSeconds: 60 },
        }),
      );
      expect(error.type).toBe('SerializationException');
      expect(error.message).toContain(
        'must be an integer, but the request has a fractional number',
      );
    });

    it('a string where a structure belongs', () => {
      const error = firehoseErrorOf(create('s3://bucket'));
      expect(error.type).toBe('SerializationException');
      expect(error.message).toBe(
        "Member 'extendedS3DestinationConfiguration' must be a structure, but the request has a string (s3://bucket)",
      );
    });

    it('a structure where a list belongs, and a number where a string or enum belongs', () => {
      expect(
        firehoseErrorOf(() =>
          parseInput(CreateDeliveryStreamInputSchema, {
            DeliveryStreamName: 's',
            Tags: { Key: 'k' },
          }),
        ).message,
      ).toBe("Member 'tags' must be a list, but the request has a structure ({Key=k})");
      expect(firehoseErrorOf(() => parseInput(NameInput, { DeliveryStreamName: 7 })).message).toBe(
        "Member 'deliveryStreamName' must be a string, but the request has an integer (7)",
      );
      expect(
        firehoseErrorOf(() =>
          parseInput(CreateDeliveryStreamInputSchema, {
            DeliveryStreamName: 's',
            DeliveryStreamType: 1,
          }),
        ).type,
      ).toBe('SerializationException');
    });

    it('a string where a boolean belongs', () => {
      const error = firehoseErrorOf(
        create({
          RoleARN: 'arn:aws:iam::123456789012:role/r',
          BucketARN: 'arn:aws:s3:::b',
          CloudWatchLoggingOptions: { Enabled: 'true' },
        }),
      );
      expect(error.message).toBe(
        "Member 'extendedS3DestinationConfiguration.cloudWatchLoggingOptions.enabled' must be a boolean, but the request has a string (true)",
      );
    });

    it('wins over constraint violations elsewhere, and over list length checks', () => {
      const tags = [...Array.from({ length: 60 }, (_, i) => ({ Key: `k${i}` })), { Key: 5 }];
      const error = firehoseErrorOf(() =>
        parseInput(CreateDeliveryStreamInputSchema, { DeliveryStreamName: '!!', Tags: tags }),
      );
      expect(error.type).toBe('SerializationException');
      expect(error.message).toContain("'tags.61.member.key' must be a string");
    });
  });
});
