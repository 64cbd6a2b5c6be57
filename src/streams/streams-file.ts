import { readFile } from 'node:fs/promises';
import { parseInput } from '../config/validation.js';
import { FirehoseError } from '../errors/catalogue.js';
import type { StreamRegistry } from './registry.js';
import type { Settings } from '../config/env.js';
import {
  CreateDeliveryStreamInputSchema,
  DESTINATION_ID,
  definitionFromCreateInput,
  sameDestination,
  verifyContextFromSettings,
  verifyDestination,
  type StreamDefinition,
} from './stream-definition.js';
import type { VerifyContext } from '../destinations/destination-kind.js';

/** What {@link applyStreamsFile} did, by stream name. */
export interface StreamsFileSummary {
  /** Streams that did not exist and were created. */
  created: string[];
  /** Existing streams whose destination differed; the file's destination replaced it. */
  updated: string[];
  /** Existing streams whose destination already matched the file. */
  unchanged: string[];
  /** Streams being deleted, left alone (they can be declared again once removed). */
  skipped: string[];
}

/** The logging the streams file needs (pino's and Fastify's loggers fit). */
export interface StreamsFileLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Attempts per stream when other processes apply the same file at the same moment. */
const MAX_RECONCILE_ATTEMPTS = 5;

/**
 * Applies a streams file, `{"DeliveryStreams": [<CreateDeliveryStream request>, …]}`.
 *
 * Every entry is validated first, exactly as CreateDeliveryStream would validate it; any
 * problem stops the whole file before anything is written. Then missing streams are created,
 * and existing streams whose destination differs from the file get the file's destination as
 * an update (their version goes up by one). Tags and the source hint are applied only when a
 * stream is created. Applying the same file again changes nothing, and several processes may
 * apply it at once.
 *
 * @throws Error naming the file, the stream and the problem.
 */
export async function applyStreamsFile(
  path: string,
  registry: StreamRegistry,
  settings: Settings,
  log: StreamsFileLogger,
  outside: VerifyContext = verifyContextFromSettings(settings),
): Promise<StreamsFileSummary> {
  const fail = (problem: string): Error => new Error(`Streams file ${path}: ${problem}`);
  const definitions = parseStreamsFile(await readJson(path, fail), settings, outside, fail);

  const missing: string[] = [];
  for (const def of definitions) {
    if ((await registry.get(def.name)) === undefined) missing.push(def.name);
  }
  const count = await registry.count();
  if (count + missing.length > settings.SLUICE_MAX_STREAMS) {
    throw fail(
      `creating ${missing.length} new streams (${missing.join(', ')}) would exceed SLUICE_MAX_STREAMS (${settings.SLUICE_MAX_STREAMS}); ${count} streams exist already.`,
    );
  }

  const summary: StreamsFileSummary = { created: [], updated: [], unchanged: [], skipped: [] };
  for (const def of definitions) {
    const outcome = await reconcile(def, registry, fail);
    summary[outcome].push(def.name);
    if (outcome === 'skipped') {
      log.warn(
        { stream: def.name, file: path },
        'streams file: stream is being deleted; left alone',
      );
    } else if (outcome !== 'unchanged') {
      log.info(
        { event: `stream.${outcome}`, stream: def.name, file: path },
        `streams file: stream ${outcome}`,
      );
    }
  }
  return summary;
}

async function readJson(path: string, fail: (problem: string) => Error): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fail(`cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw fail(`is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Validates every entry and builds its definition; the first problem fails the whole file. */
function parseStreamsFile(
  json: unknown,
  settings: Settings,
  outside: VerifyContext,
  fail: (problem: string) => Error,
): StreamDefinition[] {
  const entries =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>).DeliveryStreams
      : undefined;
  if (!Array.isArray(entries)) {
    throw fail(
      'must be a JSON object with a "DeliveryStreams" list of CreateDeliveryStream requests.',
    );
  }
  const now = Date.now();
  const seen = new Map<string, number>();
  return entries.map((entry: unknown, index) => {
    const name =
      entry !== null && typeof entry === 'object' && 'DeliveryStreamName' in entry
        ? (entry as { DeliveryStreamName?: unknown }).DeliveryStreamName
        : undefined;
    const label =
      typeof name === 'string'
        ? `stream ${JSON.stringify(name)} (DeliveryStreams[${index}])`
        : `DeliveryStreams[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw fail(`${label} must be a JSON object in the CreateDeliveryStream request shape.`);
    }
    let def: StreamDefinition;
    try {
      def = definitionFromCreateInput(
        parseInput(CreateDeliveryStreamInputSchema, entry),
        settings,
        now,
      );
      verifyDestination(def.destination, outside);
    } catch (error) {
      if (error instanceof FirehoseError) throw fail(`${label}: ${error.type}: ${error.message}`);
      throw error;
    }
    const earlier = seen.get(def.name);
    if (earlier !== undefined) {
      throw fail(`${label} is declared twice (also DeliveryStreams[${earlier}]).`);
    }
    seen.set(def.name, index);
    return def;
  });
}

/**
 * Brings one stream in line with its declaration. A conflict with another process applying
 * the same file (it created or updated the stream first) is resolved by looking again.
 */
async function reconcile(
  def: StreamDefinition,
  registry: StreamRegistry,
  fail: (problem: string) => Error,
): Promise<keyof StreamsFileSummary> {
  for (let attempt = 0; attempt < MAX_RECONCILE_ATTEMPTS; attempt += 1) {
    const current = await registry.get(def.name);
    try {
      if (current === undefined) {
        await registry.create(def);
        return 'created';
      }
      if (current.status !== 'ACTIVE') return 'skipped';
      if (sameDestination(current.destination, def.destination)) return 'unchanged';
      await registry.update(
        def.name,
        String(current.versionId),
        DESTINATION_ID,
        () => def.destination,
      );
      return 'updated';
    } catch (error) {
      const raced =
        error instanceof FirehoseError &&
        (error.type === 'ResourceInUseException' ||
          error.type === 'ConcurrentModificationException' ||
          error.type === 'ResourceNotFoundException');
      if (!raced) {
        throw error instanceof FirehoseError
          ? fail(`stream ${JSON.stringify(def.name)}: ${error.type}: ${error.message}`)
          : error;
      }
    }
  }
  throw fail(
    `stream ${JSON.stringify(def.name)} kept changing while the file was applied; start again.`,
  );
}
