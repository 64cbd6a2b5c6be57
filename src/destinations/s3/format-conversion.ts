import { z } from 'zod';
import type { DeserializerOptions } from '../../formats/parquet/record-converter.js';
import {
  compileTimestampParser,
  TimestampFormatError,
} from '../../formats/parquet/timestamp-parsing.js';
import { CatalogError, type TableCatalog } from '../../formats/parquet/table-catalog.js';
import { awsString } from '../../config/validation.js';
import { invalidArgument } from '../shapes.js';

/**
 * `DataFormatConversionConfiguration` of an extended S3 destination: JSON records converted to
 * Parquet with a table of the local catalog (`SchemaConfiguration`), read by the OpenX or the
 * Hive JSON SerDe (`InputFormatConfiguration`) and written by the ParquetSerDe
 * (`OutputFormatConfiguration`). ORC is refused, naming Parquet.
 */

const MIB = 1024 * 1024;
/** Firehose's minimum and default SizeInMBs with conversion, and its ParquetSerDe bounds. */
export const CONVERSION_MIN_SIZE_MB = 64;
export const CONVERSION_DEFAULT_SIZE_MB = 128;
const MIN_BLOCK_BYTES = 64 * MIB;
const DEFAULT_BLOCK_BYTES = 256 * MIB;
const MIN_PAGE_BYTES = 64 * 1024;
const DEFAULT_PAGE_BYTES = MIB;

/** AWS's NonEmptyStringWithoutWhitespace and NonEmptyString. */
const NonEmpty = awsString({ min: 1, max: 1024, pattern: '^\\S+$' });
const NonBlank = awsString({ min: 1, max: 1024, pattern: '^(?!\\s*$).+' });

/** The configuration as the API takes it (AWS's shape; members checked when enabled). */
export const DataFormatConversionConfigurationSchema = z.object({
  SchemaConfiguration: z
    .object({
      RoleARN: awsString({ min: 1, max: 512, pattern: 'arn:.*' }).optional(),
      CatalogId: NonEmpty.optional(),
      DatabaseName: NonEmpty.optional(),
      TableName: NonEmpty.optional(),
      Region: NonEmpty.optional(),
      VersionId: NonEmpty.optional(),
    })
    .optional(),
  InputFormatConfiguration: z
    .object({
      Deserializer: z
        .object({
          OpenXJsonSerDe: z
            .object({
              ConvertDotsInJsonKeysToUnderscores: z.boolean().optional(),
              CaseInsensitive: z.boolean().optional(),
              ColumnToJsonKeyMappings: z.record(NonEmpty, NonBlank).optional(),
            })
            .optional(),
          HiveJsonSerDe: z.object({ TimestampFormats: z.array(NonBlank).optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
  OutputFormatConfiguration: z
    .object({
      Serializer: z
        .object({
          ParquetSerDe: z
            .object({
              BlockSizeBytes: z.number().int().min(MIN_BLOCK_BYTES).optional(),
              PageSizeBytes: z.number().int().min(MIN_PAGE_BYTES).optional(),
              Compression: z.enum(['UNCOMPRESSED', 'GZIP', 'SNAPPY']).optional(),
              EnableDictionaryCompression: z.boolean().optional(),
              MaxPaddingBytes: z.number().int().min(0).optional(),
              WriterVersion: z.enum(['V1', 'V2']).optional(),
            })
            .optional(),
          OrcSerDe: z.record(z.string(), z.unknown()).optional(),
        })
        .optional(),
    })
    .optional(),
  Enabled: z.boolean().optional(),
});

/** A `DataFormatConversionConfiguration` as given. */
export type DataFormatConversionConfiguration = z.infer<
  typeof DataFormatConversionConfigurationSchema
>;

/** The ParquetSerDe's options, resolved (what the Parquet writer is given). */
export interface ParquetWriteOptions {
  compression: 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY';
  pageSizeBytes: number;
  blockSizeBytes: number;
  enableDictionaryCompression: boolean;
}

/** What a conversion needs at delivery, resolved from the configuration. */
export interface ConversionSpec {
  database: string;
  table: string;
  deserializer: DeserializerOptions;
  parquet: ParquetWriteOptions;
  /** The failure document's `dataCatalogTable`. */
  dataCatalogTable: Record<string, string>;
}

/** Whether the configuration converts (Firehose's default for `Enabled` is true). */
export function conversionEnabled(config: DataFormatConversionConfiguration | undefined): boolean {
  return config !== undefined && config.Enabled !== false;
}

/**
 * Checks an enabled conversion against Firehose's rules and what Sluice implements.
 *
 * @param destination - The destination's `CompressionFormat` and `SizeInMBs` as given.
 * @throws FirehoseError `InvalidArgumentException` naming the member and the fix.
 */
export function checkConversion(
  config: DataFormatConversionConfiguration,
  destination: { compression: string; sizeInMBs: number | undefined },
  where: string,
): void {
  const at = `${where}.DataFormatConversionConfiguration`;
  const schema = config.SchemaConfiguration;
  if (schema?.DatabaseName === undefined || schema.TableName === undefined) {
    throw invalidArgument(
      `${at}.SchemaConfiguration needs DatabaseName and TableName: the table of the local table catalog (SLUICE_CATALOG_DIR/<database>/<table>.json) the records are converted with.`,
    );
  }
  const deserializer = config.InputFormatConfiguration?.Deserializer ?? {};
  const readers = Object.keys(deserializer).filter(
    (k) => deserializer[k as keyof typeof deserializer] !== undefined,
  );
  if (readers.length !== 1) {
    throw invalidArgument(
      `${at}.InputFormatConfiguration.Deserializer needs exactly one of OpenXJsonSerDe and HiveJsonSerDe, got ${readers.length === 0 ? 'none' : readers.join(' and ')}.`,
    );
  }
  for (const format of deserializer.HiveJsonSerDe?.TimestampFormats ?? []) {
    try {
      compileTimestampParser([format]);
    } catch (error) {
      if (!(error instanceof TimestampFormatError)) throw error;
      throw invalidArgument(
        `${at}.InputFormatConfiguration.Deserializer.HiveJsonSerDe.${error.message}`,
      );
    }
  }
  const serializer = config.OutputFormatConfiguration?.Serializer ?? {};
  if (serializer.OrcSerDe !== undefined) {
    throw invalidArgument(
      `${at}.OutputFormatConfiguration.Serializer.OrcSerDe: ORC output is not supported by Sluice; use ParquetSerDe (Parquet is read by the same tools: Athena, Glue, Spark, Hive, Trino, DuckDB).`,
    );
  }
  if (serializer.ParquetSerDe === undefined) {
    throw invalidArgument(`${at}.OutputFormatConfiguration.Serializer needs ParquetSerDe.`);
  }
  if (destination.compression !== 'UNCOMPRESSED') {
    throw invalidArgument(
      `${where}.CompressionFormat must be UNCOMPRESSED when data format conversion is enabled: Parquet compresses inside the file (ParquetSerDe.Compression), not ${destination.compression}.`,
    );
  }
  if (destination.sizeInMBs !== undefined && destination.sizeInMBs < CONVERSION_MIN_SIZE_MB) {
    throw invalidArgument(
      `BufferingHints.SizeInMBs must be at least ${CONVERSION_MIN_SIZE_MB} when data format conversion is enabled.`,
    );
  }
}

/** What an enabled conversion does, with Firehose's defaults filled in. */
export function conversionSpecOf(config: DataFormatConversionConfiguration): ConversionSpec {
  const schema = config.SchemaConfiguration ?? {};
  const deserializer = config.InputFormatConfiguration?.Deserializer ?? {};
  const parquet = config.OutputFormatConfiguration?.Serializer?.ParquetSerDe ?? {};
  const database = schema.DatabaseName ?? '';
  const table = schema.TableName ?? '';
  const region = schema.Region ?? 'us-east-1';
  const catalogId = schema.CatalogId ?? '000000000000';
  return {
    database,
    table,
    deserializer:
      deserializer.HiveJsonSerDe !== undefined
        ? { kind: 'hive', timestampFormats: deserializer.HiveJsonSerDe.TimestampFormats ?? [] }
        : {
            kind: 'openx',
            caseInsensitive: deserializer.OpenXJsonSerDe?.CaseInsensitive ?? true,
            dotsToUnderscores:
              deserializer.OpenXJsonSerDe?.ConvertDotsInJsonKeysToUnderscores ?? false,
            columnToJsonKey: Object.fromEntries(
              Object.entries(deserializer.OpenXJsonSerDe?.ColumnToJsonKeyMappings ?? {}).map(
                ([column, key]) => [column.toLowerCase(), key],
              ),
            ),
          },
    parquet: {
      compression: parquet.Compression ?? 'SNAPPY',
      pageSizeBytes: parquet.PageSizeBytes ?? DEFAULT_PAGE_BYTES,
      blockSizeBytes: parquet.BlockSizeBytes ?? DEFAULT_BLOCK_BYTES,
      enableDictionaryCompression: parquet.EnableDictionaryCompression ?? false,
    },
    dataCatalogTable: {
      catalogId,
      databaseName: database,
      tableName: table,
      region,
      versionId: schema.VersionId ?? 'LATEST',
      catalogArn: `arn:aws:glue:${region}:${catalogId}:catalog`,
    },
  };
}

/**
 * Checks that the table an enabled conversion names is in the catalog and valid, when the
 * destination is created or updated (Firehose checks its Glue table then too).
 *
 * @throws FirehoseError `InvalidArgumentException` with the catalog's reason.
 */
export function verifyConversionTable(
  config: { DataFormatConversionConfiguration?: DataFormatConversionConfiguration | undefined },
  catalog: TableCatalog,
): void {
  const conversion = config.DataFormatConversionConfiguration;
  if (!conversionEnabled(conversion)) return;
  const spec = conversionSpecOf(conversion as DataFormatConversionConfiguration);
  try {
    catalog.tableSync(spec.database, spec.table);
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    throw invalidArgument(
      `DataFormatConversionConfiguration.SchemaConfiguration: ${error.message}`,
    );
  }
}
