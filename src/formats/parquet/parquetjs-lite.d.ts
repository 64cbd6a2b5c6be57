/**
 * The parts of parquetjs-lite 0.8.7 (which ships no types) that Sluice's Parquet writer uses:
 * the schema, the envelope writer (and the buffered writer the benchmark's reference uses), the
 * logical type table, the PLAIN codec, the compression codecs, the Thrift classes of pages and
 * the footer and the Thrift serializer. Only what `parquet-schema.ts`, `page-encoder.ts` and
 * `parquet-writer.ts` touch is declared.
 */

declare module 'parquetjs-lite' {
  /** A physical Parquet type, as parquetjs-lite names them. */
  export type ParquetPrimitiveType =
    | 'BOOLEAN'
    | 'INT32'
    | 'INT64'
    | 'INT96'
    | 'FLOAT'
    | 'DOUBLE'
    | 'BYTE_ARRAY'
    | 'FIXED_LEN_BYTE_ARRAY';

  /** A field of the schema definition given to {@link ParquetSchema}'s constructor. */
  export interface ParquetFieldDefinition {
    /** A key of parquetjs-lite's logical type table, or 'LIST' / 'MAP' for a group. */
    type?: string;
    optional?: boolean;
    repeated?: boolean;
    encoding?: 'PLAIN';
    compression?: 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY';
    /** `false` leaves the column without min/max statistics. */
    statistics?: boolean;
    typeLength?: number;
    fields?: Record<string, ParquetFieldDefinition>;
  }

  /** A field of a built schema (leaf or group), in `fieldList` order (depth first). */
  export interface ParquetField {
    name: string;
    path: string[];
    repetitionType: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
    rLevelMax: number;
    dLevelMax: number;
    isNested?: boolean;
    fieldCount?: number;
    fields?: Record<string, ParquetField>;
    primitiveType?: ParquetPrimitiveType;
    originalType?: string;
    typeLength?: number;
    compression?: string;
    statistics?: boolean;
  }

  export interface ParquetSchema {
    readonly fields: Record<string, ParquetField>;
    readonly fieldList: ParquetField[];
  }

  /** A Thrift RowGroup as the envelope writer keeps it for the footer. */
  export interface ParquetRowGroupMetadata {
    columns: {
      meta_data: {
        type: number;
        statistics?: {
          min?: Buffer | null;
          max?: Buffer | null;
          distinct_count?: number | null;
        } | null;
      };
    }[];
  }

  /** A page's statistics in raw values (of the column's logical type), as its writer keeps them. */
  export interface ParquetPageStatistics {
    min_value?: string | number | bigint | boolean;
    max_value?: string | number | bigint | boolean;
    null_count: number;
  }

  /**
   * A data page as parquetjs-lite's row-group writer takes it (what its own page encoder makes):
   * the page's bytes (header and body) and what the column chunk's metadata is made of.
   */
  export interface ParquetPageEntry {
    page: Buffer;
    /** Absent for a column without statistics. */
    statistics: ParquetPageStatistics | undefined;
    first_row_index: number;
    distinct_values: ReadonlySet<unknown>;
    num_values: number;
  }

  /** A row group's pages, by leaf column (keyed by its path, as parquetjs-lite keys them). */
  export interface ParquetRowGroupPages {
    rowCount: number;
    pages: Record<string, ParquetPageEntry[]>;
  }

  export interface ParquetEnvelopeWriterOptions {
    /** Rows per data page (parquetjs-lite counts pages in rows). */
    pageSize?: number;
    useDataPageV2?: boolean;
    /** `false` writes no ColumnIndex/OffsetIndex. */
    pageIndex?: boolean;
  }

  export interface ParquetEnvelopeWriter {
    rowCount: number;
    rowGroups: ParquetRowGroupMetadata[];
    pageSize: number;
    writeSection(buf: Buffer): unknown;
    writeHeader(): unknown;
    /** Writes a row group of pages encoded beforehand. */
    writeRowGroup(group: ParquetRowGroupPages): unknown;
    writeFooter(userMetadata?: Record<string, string>): unknown;
    setPageSize(rows: number): void;
  }

  export interface ParquetWriter {
    appendRow(row: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
    setRowGroupSize(rows: number): void;
  }

  /**
   * The module's exports. It is CommonJS that Node cannot give named exports for: import the
   * default and take the classes from it.
   */
  const parquet: {
    ParquetSchema: new (definition: Record<string, ParquetFieldDefinition>) => ParquetSchema;
    ParquetEnvelopeWriter: new (
      schema: ParquetSchema,
      writeFn: (buf: Buffer) => unknown,
      closeFn: () => unknown,
      fileOffset: number,
      opts: ParquetEnvelopeWriterOptions,
    ) => ParquetEnvelopeWriter;
    ParquetWriter: new (
      schema: ParquetSchema,
      envelopeWriter: ParquetEnvelopeWriter,
      opts: { rowGroupSize?: number },
    ) => ParquetWriter;
  };
  export default parquet;
}

declare module 'parquetjs-lite/lib/types.js' {
  import type { ParquetPrimitiveType } from 'parquetjs-lite';

  /** An entry of parquetjs-lite's logical type table. */
  export interface ParquetLogicalType {
    primitiveType: ParquetPrimitiveType;
    originalType?: string;
    typeLength?: number;
    toPrimitive: (value: never) => unknown;
    fromPrimitive?: (value: never) => unknown;
  }
  const types: {
    PARQUET_LOGICAL_TYPES: Record<string, ParquetLogicalType>;
    /** A raw value of logical type `type` as its physical value. */
    toPrimitive(type: string, value: never): unknown;
  };
  export default types;
}

declare module 'parquetjs-lite/lib/codec/index.js' {
  import type { ParquetPrimitiveType } from 'parquetjs-lite';

  const codec: {
    PLAIN: {
      encodeValues(
        type: ParquetPrimitiveType,
        values: unknown[],
        opts: { typeLength?: number; bitWidth?: number },
      ): Buffer;
    };
  };
  export default codec;
}

declare module 'parquetjs-lite/lib/compression.js' {
  const compression: {
    /** Compresses a page body; UNCOMPRESSED gives `value` itself. */
    deflate(method: string, value: Buffer): Buffer;
  };
  export default compression;
}

declare module 'parquetjs-lite/lib/util.js' {
  const util: { serializeThrift(obj: object): Buffer };
  export default util;
}

declare module 'parquetjs-lite/gen-nodejs/parquet_types.js' {
  type ThriftClass = new (args?: Record<string, unknown>) => object;
  const thrift: {
    Type: Record<string, number>;
    ConvertedType: Record<string, number>;
    FieldRepetitionType: Record<string, number>;
    Encoding: Record<string, number>;
    PageType: Record<string, number>;
    PageHeader: ThriftClass;
    DataPageHeader: ThriftClass;
    Statistics: ThriftClass;
    SchemaElement: ThriftClass;
    FileMetaData: ThriftClass;
    ColumnOrder: ThriftClass;
    TypeDefinedOrder: ThriftClass;
  };
  export default thrift;
}
