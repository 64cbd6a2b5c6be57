import { describe, expect, it } from 'vitest';
import { parseDeliveryPlan, serializeDeliveryPlan } from '../../src/delivery/delivery-plan.js';
import { normalizeExtendedS3 } from '../../src/destinations/s3/config.js';
import { planS3Delivery } from '../../src/destinations/s3/plan.js';

// 2026-07-13 14:05:09 UTC.
const ARRIVAL = Date.UTC(2026, 6, 13, 14, 5, 9);
const BATCH_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NAME = `name-3-2026-07-13-14-05-09-${BATCH_ID}`;
const CONTEXT = {
  streamName: 'name',
  streamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/name',
  versionId: 3,
  batchId: BATCH_ID,
  firstArrivalMs: ARRIVAL,
};

function config(overrides: Record<string, unknown> = {}) {
  return normalizeExtendedS3(
    {
      RoleARN: 'arn:aws:iam::123456789012:role/r',
      BucketARN: 'arn:aws:s3:::bucket',
      Prefix: 'logs/',
      ...overrides,
    },
    'ExtendedS3DestinationConfiguration',
  );
}

describe('planS3Delivery', () => {
  it('fixes bucket, key, compression and encoding from the destination', () => {
    expect(planS3Delivery(config(), CONTEXT)).toEqual({
      destination: 's3',
      streamVersion: 3,
      bucket: 'bucket',
      prefix: 'logs/',
      key: `logs/2026/07/13/14/${NAME}`,
      compression: 'UNCOMPRESSED',
      fileExtension: '',
      errorOutput: {
        bucket: 'bucket',
        prefix: 'logs/',
        compression: 'UNCOMPRESSED',
        timeZone: 'UTC',
      },
    });
    expect(planS3Delivery(config({ CompressionFormat: 'GZIP' }), CONTEXT)).toMatchObject({
      key: `logs/2026/07/13/14/${NAME}.gz`,
      compression: 'GZIP',
      contentEncoding: 'gzip',
      fileExtension: '.gz',
    });
    expect(
      planS3Delivery(config({ CompressionFormat: 'GZIP', FileExtension: '.json.gz' }), CONTEXT),
    ).toMatchObject({ key: `logs/2026/07/13/14/${NAME}.json.gz`, fileExtension: '.json.gz' });
  });

  it.each([
    ['ZIP', '.zip', 'zip'],
    ['Snappy', '.snappy', 'snappy-java'],
    ['HADOOP_SNAPPY', '.snappy', 'hadoop-snappy'],
    ['ZSTD', '.zst', 'zstd'],
  ] as const)('names %s objects %s with Content-Encoding %s', (format, extension, encoding) => {
    expect(planS3Delivery(config({ CompressionFormat: format }), CONTEXT)).toMatchObject({
      key: `logs/2026/07/13/14/${NAME}${extension}`,
      compression: format,
      contentEncoding: encoding,
      fileExtension: extension,
    });
  });

  it('plans a batch of source records to the backup location, with no error output', () => {
    const withBackup = config({
      CompressionFormat: 'GZIP',
      S3BackupMode: 'Enabled',
      S3BackupConfiguration: {
        RoleARN: 'arn:aws:iam::123456789012:role/r',
        BucketARN: 'arn:aws:s3:::backups',
        Prefix: 'raw/',
        CompressionFormat: 'Snappy',
      },
    });
    const plan = planS3Delivery(withBackup, {
      ...CONTEXT,
      sourceBackup: true,
      partitionKeys: { query: {}, lambda: {}, backup: true },
    });
    expect(plan).toEqual({
      destination: 's3',
      streamVersion: 3,
      bucket: 'backups',
      prefix: 'raw/',
      key: `raw/2026/07/13/14/${NAME}.snappy`,
      compression: 'Snappy',
      contentEncoding: 'snappy-java',
      fileExtension: '.snappy',
    });
    // A destination without a backup cannot take such a batch: a plan error, not a guess.
    expect(() => planS3Delivery(config(), { ...CONTEXT, sourceBackup: true })).toThrow(
      /no S3BackupConfiguration/,
    );
  });

  it('fixes where records failed before delivery go, with the error prefix', () => {
    const plan = planS3Delivery(
      config({ ErrorOutputPrefix: 'failed/!{firehose:error-output-type}/' }),
      CONTEXT,
    );
    expect(plan.errorOutput).toMatchObject({
      bucket: 'bucket',
      errorOutputPrefix: 'failed/!{firehose:error-output-type}/',
    });
  });

  it('keeps a key fixed by a version that stored only the key', () => {
    expect(
      planS3Delivery(config({ BucketARN: 'arn:aws:s3:::other' }), {
        ...CONTEXT,
        legacyObjectKey: 'legacy/key',
      }),
    ).toMatchObject({ bucket: 'other', key: 'legacy/key' });
  });
});

describe('stored plans', () => {
  it('read back as written, with the kind that carries them out', () => {
    const plan = planS3Delivery(config({ CompressionFormat: 'GZIP' }), CONTEXT);
    const parsed = parseDeliveryPlan(serializeDeliveryPlan(plan));
    expect(parsed.plan).toEqual(plan);
    expect(parsed.kind.planDestination).toBe('s3');
  });

  it('read back plans written before plans named their error output', () => {
    const old =
      '{"destination":"s3","streamVersion":1,"bucket":"b","prefix":"","key":"k","compression":"UNCOMPRESSED","fileExtension":""}';
    expect(parseDeliveryPlan(old).plan).toMatchObject({ bucket: 'b', key: 'k' });
  });

  it('are refused when not a plan this version reads', () => {
    expect(() => parseDeliveryPlan('objectKey')).toThrow(/not JSON/);
    expect(() => parseDeliveryPlan('{"destination":"s3","bucket":"b"}')).toThrow(
      /not one this version reads/,
    );
    expect(() => parseDeliveryPlan('{"destination":"carrier-pigeon"}')).toThrow(
      /destination "carrier-pigeon", which this version does not deliver to/,
    );
  });
});
