import { FirehoseError } from '../errors/catalogue.js';
import { parseDelimiterParameter } from './builtin/deaggregation.js';
import { compileMetadataExtractionQuery, JqCompileError, type MetadataQuery } from './jq/index.js';
import { parseLambdaArn, type TransformRef } from './transforms/transform-ref.js';

/**
 * `ProcessingConfiguration` as Firehose defines it (firehose-spec.md §4): which processors a
 * destination may have, which parameters each takes, the rules between them, and the
 * compiled form the pipeline runs. Everything a stream could get wrong is refused here, at
 * CreateDeliveryStream / UpdateDestination, so that nothing about the configuration can fail
 * at delivery time.
 */

/** A processor as the API carries it (validated by the model schema already). */
export interface ProcessorInput {
  Type: ProcessorType;
  Parameters?: { ParameterName: string; ParameterValue: string }[] | undefined;
}

/** The processor types, in the order Firehose runs them whatever order they are listed in. */
export const PROCESSOR_ORDER = [
  'RecordDeAggregation',
  'Decompression',
  'CloudWatchLogProcessing',
  'Lambda',
  'MetadataExtraction',
  'AppendDelimiterToRecord',
] as const;

/** A processor type. */
export type ProcessorType = (typeof PROCESSOR_ORDER)[number];

/** The parameters each processor type accepts; the first ones listed are required. */
const PARAMETERS: Record<ProcessorType, { required: string[]; optional: string[] }> = {
  RecordDeAggregation: { required: ['SubRecordType'], optional: ['Delimiter'] },
  Decompression: { required: [], optional: ['CompressionFormat'] },
  CloudWatchLogProcessing: { required: ['DataMessageExtraction'], optional: [] },
  Lambda: {
    required: ['LambdaArn'],
    optional: ['NumberOfRetries', 'RoleArn', 'BufferSizeInMBs', 'BufferIntervalInSeconds'],
  },
  MetadataExtraction: { required: ['MetadataExtractionQuery', 'JsonParsingEngine'], optional: [] },
  AppendDelimiterToRecord: { required: [], optional: [] },
};

/** Firehose's Lambda processor defaults and ranges (firehose-spec.md §2). */
export const LAMBDA_DEFAULTS = {
  numberOfRetries: 3,
  bufferSizeInMBs: 1,
  bufferIntervalInSeconds: 60,
} as const;

/** The compiled processing of a stream: what runs, in Firehose's order. */
export interface ProcessingSpec {
  /** `RecordDeAggregation`: one record holds several. */
  deaggregation: { type: 'JSON' } | { type: 'DELIMITED'; delimiter: Buffer } | undefined;
  /** `Decompression` GZIP (CloudWatch Logs subscriptions). */
  decompression: boolean;
  /** `CloudWatchLogProcessing` with `DataMessageExtraction` true. */
  cloudWatchExtraction: boolean;
  /** `Lambda`: a plug-in or remote transform. */
  lambda: LambdaSpec | undefined;
  /** `MetadataExtraction`: the jq query giving `partitionKeyFromQuery` keys. */
  metadata: MetadataQuery | undefined;
  /** `AppendDelimiterToRecord`. */
  appendDelimiter: boolean;
}

/** A `Lambda` processor, resolved. */
export interface LambdaSpec {
  /** `LambdaArn` as configured (error records carry it as `lambdaARN`). */
  arn: string;
  ref: TransformRef;
  numberOfRetries: number;
  /** Most payload bytes one invocation carries (`BufferSizeInMBs`). */
  bufferSizeBytes: number;
  /** `BufferIntervalInSeconds` in ms: how long records wait for an invocation at most. */
  bufferIntervalMs: number;
}

function invalid(message: string): FirehoseError {
  return new FirehoseError('InvalidArgumentException', message);
}

function parametersOf(processor: ProcessorInput, where: string): Map<string, string> {
  const allowed = PARAMETERS[processor.Type];
  const values = new Map<string, string>();
  for (const { ParameterName, ParameterValue } of processor.Parameters ?? []) {
    if (!allowed.required.includes(ParameterName) && !allowed.optional.includes(ParameterName)) {
      const accepted = [...allowed.required, ...allowed.optional];
      throw invalid(
        `${where}: the ${processor.Type} processor does not take the parameter ${ParameterName}; ${accepted.length === 0 ? 'it takes no parameters' : `it takes ${accepted.join(', ')}`}.`,
      );
    }
    if (values.has(ParameterName)) {
      throw invalid(`${where}: the parameter ${ParameterName} is given twice.`);
    }
    values.set(ParameterName, ParameterValue);
  }
  for (const name of allowed.required) {
    if (!values.has(name)) {
      throw invalid(`${where}: the ${processor.Type} processor needs the parameter ${name}.`);
    }
  }
  return values;
}

function numberParameter(
  values: Map<string, string>,
  name: string,
  where: string,
  range: { min: number; max: number; integer: boolean },
  fallback: number,
): number {
  const text = values.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (
    !/^\s*\d+(\.\d+)?\s*$/.test(text) ||
    !Number.isFinite(value) ||
    value < range.min ||
    value > range.max ||
    (range.integer && !Number.isInteger(value))
  ) {
    throw invalid(
      `${where}: ${name} must be ${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}, got '${text}'.`,
    );
  }
  return value;
}

/** What the destination allows, for {@link checkProcessing}. */
export interface ProcessingContext {
  /** Whether the destination has dynamic partitioning enabled (ExtendedS3 only). */
  partitioning: boolean;
}

/**
 * Checks an enabled `ProcessingConfiguration`'s processors by Firehose's rules and compiles
 * them, so that a configuration that is stored always runs.
 *
 * @throws FirehoseError `InvalidArgumentException` saying what is wrong and what is accepted.
 */
export function compileProcessing(
  processors: readonly ProcessorInput[],
  where: string,
  context: ProcessingContext,
): ProcessingSpec {
  const spec: ProcessingSpec = {
    deaggregation: undefined,
    decompression: false,
    cloudWatchExtraction: false,
    lambda: undefined,
    metadata: undefined,
    appendDelimiter: false,
  };
  const seen = new Set<ProcessorType>();
  processors.forEach((processor, index) => {
    const at = `${where}.Processors[${index}]`;
    if (seen.has(processor.Type)) {
      throw invalid(`${at}: a stream may have one ${processor.Type} processor; this is a second.`);
    }
    seen.add(processor.Type);
    const values = parametersOf(processor, at);
    switch (processor.Type) {
      case 'RecordDeAggregation':
        spec.deaggregation = deaggregationOf(values, at);
        break;
      case 'Decompression': {
        const format = values.get('CompressionFormat') ?? 'GZIP';
        if (format !== 'GZIP') {
          throw invalid(
            `${at}: Decompression supports CompressionFormat GZIP only, got '${format}'.`,
          );
        }
        spec.decompression = true;
        break;
      }
      case 'CloudWatchLogProcessing': {
        const extraction = values.get('DataMessageExtraction');
        if (extraction !== 'true' && extraction !== 'false') {
          throw invalid(
            `${at}: DataMessageExtraction must be 'true' or 'false', got '${extraction}'.`,
          );
        }
        spec.cloudWatchExtraction = extraction === 'true';
        break;
      }
      case 'Lambda':
        spec.lambda = lambdaOf(values, at);
        break;
      case 'MetadataExtraction':
        spec.metadata = metadataOf(values, at);
        break;
      case 'AppendDelimiterToRecord':
        spec.appendDelimiter = true;
        break;
    }
  });
  if (spec.cloudWatchExtraction && !spec.decompression) {
    throw invalid(
      `${where}: CloudWatchLogProcessing reads CloudWatch Logs subscription data, which arrives gzip-compressed; add a Decompression processor (CompressionFormat GZIP).`,
    );
  }
  if (!context.partitioning) {
    for (const type of ['MetadataExtraction', 'RecordDeAggregation'] as const) {
      if (seen.has(type)) {
        throw invalid(
          `${where}: the ${type} processor works only with dynamic partitioning; enable DynamicPartitioningConfiguration (ExtendedS3 destinations) or remove the processor.`,
        );
      }
    }
  }
  return spec;
}

function deaggregationOf(
  values: Map<string, string>,
  where: string,
): ProcessingSpec['deaggregation'] {
  const type = values.get('SubRecordType');
  if (type === 'JSON') {
    if (values.has('Delimiter')) {
      throw invalid(`${where}: Delimiter applies to SubRecordType DELIMITED only.`);
    }
    return { type: 'JSON' };
  }
  if (type === 'DELIMITED') {
    const delimiter = values.get('Delimiter');
    if (delimiter === undefined) {
      throw invalid(
        `${where}: SubRecordType DELIMITED needs a Delimiter (base64 of the delimiter bytes, e.g. IyMjIw== for ####).`,
      );
    }
    try {
      return { type: 'DELIMITED', delimiter: parseDelimiterParameter(delimiter) };
    } catch (error) {
      throw invalid(
        `${where}: Delimiter: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  throw invalid(`${where}: SubRecordType must be JSON or DELIMITED, got '${type}'.`);
}

function lambdaOf(values: Map<string, string>, where: string): LambdaSpec {
  const arn = values.get('LambdaArn') as string;
  let ref: TransformRef;
  try {
    ref = parseLambdaArn(arn);
  } catch (error) {
    throw invalid(`${where}: ${(error as Error).message}`);
  }
  const numberOfRetries = numberParameter(
    values,
    'NumberOfRetries',
    where,
    { min: 0, max: 300, integer: true },
    LAMBDA_DEFAULTS.numberOfRetries,
  );
  // Firehose allows 0.2 to 3 MB; Sluice's invocations are bounded by it the same way.
  const sizeInMBs = numberParameter(
    values,
    'BufferSizeInMBs',
    where,
    { min: 0.2, max: 3, integer: false },
    LAMBDA_DEFAULTS.bufferSizeInMBs,
  );
  // Firehose allows 60 to 900 s; Sluice also allows less (down to 0: no waiting), as it does
  // for destination buffering.
  const intervalInSeconds = numberParameter(
    values,
    'BufferIntervalInSeconds',
    where,
    { min: 0, max: 900, integer: true },
    LAMBDA_DEFAULTS.bufferIntervalInSeconds,
  );
  return {
    arn,
    ref,
    numberOfRetries,
    bufferSizeBytes: Math.round(sizeInMBs * 1_048_576),
    bufferIntervalMs: intervalInSeconds * 1000,
  };
}

function metadataOf(values: Map<string, string>, where: string): MetadataQuery {
  const engine = values.get('JsonParsingEngine');
  if (engine !== 'JQ-1.6') {
    throw invalid(
      `${where}: JsonParsingEngine must be JQ-1.6 (the only engine Firehose has), got '${engine}'.`,
    );
  }
  const query = values.get('MetadataExtractionQuery') as string;
  try {
    return compileMetadataExtractionQuery(query);
  } catch (error) {
    if (error instanceof JqCompileError) {
      throw invalid(`${where}: MetadataExtractionQuery: ${error.message}`);
    }
    throw error;
  }
}

/** Whether a Lambda processor's interval was given, for stage-one buffering. */
export function lambdaIntervalGiven(processors: readonly ProcessorInput[]): boolean {
  return processors.some(
    (p) =>
      p.Type === 'Lambda' &&
      (p.Parameters ?? []).some(
        (parameter) => parameter.ParameterName === 'BufferIntervalInSeconds',
      ),
  );
}

const compiled = new Map<string, ProcessingSpec>();
const COMPILED_CACHE_LIMIT = 1000;

/**
 * The compiled processing of stored processors, which were checked when stored. Compiled once
 * per distinct configuration: definitions are read from Redis for every batch.
 */
export function processingSpecOf(
  processors: readonly ProcessorInput[],
  context: ProcessingContext,
): ProcessingSpec {
  const key = JSON.stringify([processors, context.partitioning]);
  let spec = compiled.get(key);
  if (spec === undefined) {
    spec = compileProcessing(processors, 'ProcessingConfiguration', context);
    if (compiled.size >= COMPILED_CACHE_LIMIT) compiled.clear();
    compiled.set(key, spec);
  }
  return spec;
}

/** First-stage size of streams without a transform: records wait little before processing. */
const BUILT_IN_STAGE_BYTES = 1_048_576;
/** First-stage interval of streams without a transform. */
const BUILT_IN_STAGE_MS = 1000;

/**
 * Invocations one first-stage batch holds at most: its records are invoked at once, so that
 * every transform worker thread has work while one batch is processed (one 1 MB invocation
 * per batch left the pool mostly idle: bench phase 8 profiles).
 */
export const INVOCATIONS_PER_FIRST_STAGE_BATCH = 4;

/**
 * The first buffering stage's thresholds of a stream with processing (the stream's own
 * buffer; its destination's hints then apply to the partition buffers). With a Lambda
 * processor, Firehose's Lambda buffering: the batch is sealed at BufferIntervalInSeconds (an
 * unset interval is Firehose's 60 s but never longer than the destination's, so zero buffering
 * stays prompt) or at {@link INVOCATIONS_PER_FIRST_STAGE_BATCH} invocations' worth of
 * BufferSizeInMBs, each invocation carrying at most BufferSizeInMBs. Built-in processors alone
 * wait at most 1 MiB or 1 s.
 */
export function firstStageBuffering(
  processors: readonly ProcessorInput[],
  partitioning: boolean,
  destination: { sizeBytes: number; intervalMs: number },
): { sizeBytes: number; intervalMs: number } {
  const spec = processingSpecOf(processors, { partitioning });
  if (spec.lambda === undefined) {
    return {
      sizeBytes: BUILT_IN_STAGE_BYTES,
      intervalMs: Math.min(BUILT_IN_STAGE_MS, destination.intervalMs),
    };
  }
  return {
    sizeBytes: spec.lambda.bufferSizeBytes * INVOCATIONS_PER_FIRST_STAGE_BATCH,
    intervalMs: lambdaIntervalGiven(processors)
      ? spec.lambda.bufferIntervalMs
      : Math.min(spec.lambda.bufferIntervalMs, destination.intervalMs),
  };
}
