import { describe, expect, it } from 'vitest';
import { planS3Delivery } from '../../src/destinations/s3/s3-plan.js';
import { parseDeliveryPlan, serializeDeliveryPlan } from '../../src/streams/delivery-plan.js';
import type { S3DeliveryTarget } from '../../src/streams/delivery-target.js';

// 2026-07-13 14:05:09 UTC.
const ARRIVAL = Date.UTC(2026, 6, 13, 14, 5, 9);
const BATCH = { batchId: '0f8fad5b-d9cb-469f-a165-70867728950e', firstArrivalMs: ARRIVAL };
const NAME = `name-3-2026-07-13-14-05-09-${BATCH.batchId}`;

function target(overrides: Partial<S3DeliveryTarget> = {}): S3DeliveryTarget {
  return {
    streamName: 'name',
    streamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/name',
    versionId: 3,
    bucket: 'bucket',
    prefix: 'logs/',
    errorOutputPrefix: undefined,
    compression: 'UNCOMPRESSED',
    fileExtension: undefined,
    timeZone: 'UTC',
    ...overrides,
  };
}

describe('planS3Delivery', () => {
  it('fixes bucket, key, compression and encoding from the destination', () => {
    expect(planS3Delivery(target(), BATCH)).toEqual({
      destination: 's3',
      streamVersion: 3,
      bucket: 'bucket',
      prefix: 'logs/',
      key: `logs/2026/07/13/14/${NAME}`,
      compression: 'UNCOMPRESSED',
      fileExtension: '',
    });
    expect(planS3Delivery(target({ compression: 'GZIP' }), BATCH)).toMatchObject({
      key: `logs/2026/07/13/14/${NAME}.gz`,
      compression: 'GZIP',
      contentEncoding: 'gzip',
      fileExtension: '.gz',
    });
    expect(
      planS3Delivery(target({ compression: 'GZIP', fileExtension: '.json.gz' }), BATCH),
    ).toMatchObject({ key: `logs/2026/07/13/14/${NAME}.json.gz`, fileExtension: '.json.gz' });
  });

  it('keeps a key fixed by a version that stored only the key', () => {
    expect(planS3Delivery(target({ bucket: 'other' }), BATCH, 'legacy/key')).toMatchObject({
      bucket: 'other',
      key: 'legacy/key',
    });
  });
});

describe('stored plans', () => {
  it('read back as written', () => {
    const plan = planS3Delivery(target({ compression: 'GZIP' }), BATCH);
    expect(parseDeliveryPlan(serializeDeliveryPlan(plan))).toEqual(plan);
  });

  it('are refused when not a plan this version reads', () => {
    expect(() => parseDeliveryPlan('objectKey')).toThrow(/not JSON/);
    expect(() => parseDeliveryPlan('{"destination":"s3","bucket":"b"}')).toThrow(
      /not one this version reads/,
    );
  });
});
