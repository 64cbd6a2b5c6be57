import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { errorText } from './error-text.js';
import { runLambdaForm } from './lambda-form.js';
import { runRecordForm } from './record-form.js';
import { OutcomeWriter, PackedInputs } from './record-packing.js';
import { TRANSFORM_TAG, type TransformDefinition } from './transform-kit.js';
import type { TaskMessage, TaskReply } from '../../lifecycle/worker-pool.js';
import type { InvokeReply, InvokeRequest } from './worker-protocol.js';

/**
 * The body of a transform worker thread (started through `worker-entry.ts`): loads transform
 * modules (once each; a new set of modules means a new worker) and runs one invocation at a
 * time, answering each with packed outcomes, a load error or an invocation error.
 *
 * Nothing a transform does can corrupt the main thread: at worst it ends this thread (an
 * uncaught error, `process.exit`, running out of memory) or never answers, and the pool
 * replaces the thread.
 */

/** A module's transform, or why there is none. */
type Loaded = { definition: TransformDefinition } | { reason: string };

const DECODINGS: ReadonlySet<unknown> = new Set(['json', 'text', 'bytes']);

const HOW_TO_EXPORT =
  "export default defineTransform(…), with import { defineTransform } from 'sluice'";

/** Modules loaded by this worker, by file: each is imported at most once. */
const modules = new Map<string, Promise<Loaded>>();

/** The definition `value` holds if `defineTransform` made it. */
function definitionOf(value: unknown): TransformDefinition | undefined {
  if (typeof value !== 'object' || value === null || !(TRANSFORM_TAG in value)) return undefined;
  const definition: unknown = value[TRANSFORM_TAG];
  if (typeof definition !== 'object' || definition === null) return undefined;
  const candidate = definition as Partial<Record<string, unknown>>;
  if (candidate.form === 'lambda' && typeof candidate.handler === 'function') {
    return definition as TransformDefinition;
  }
  if (
    candidate.form === 'record' &&
    DECODINGS.has(candidate.decode) &&
    typeof candidate.record === 'function' &&
    (candidate.delimiter === undefined || typeof candidate.delimiter === 'string')
  ) {
    return definition as TransformDefinition;
  }
  return undefined;
}

/**
 * Why an import failed. A syntax error's message lacks the place; for TypeScript (and some
 * JavaScript errors) its stack starts with it, `/…/t.ts:3` then the line itself, so those are
 * added.
 */
function importFailure(error: unknown, file: string): string {
  const text = errorText(error);
  if (
    (error as { code?: unknown } | undefined)?.code === 'ERR_UNKNOWN_FILE_EXTENSION' &&
    /\.m?ts$/.test(file)
  ) {
    return `${text}: TypeScript transforms need Node.js 22.18 or later (type stripping); on this Node ${process.version}, compile the transform to .js`;
  }
  const place =
    error instanceof Error
      ? /^((?:file:\/\/)?\/[^\n]*:\d+)\n([^\n]*)/.exec(error.stack ?? '')
      : null;
  if (place === null) return text;
  const where = (place[1] as string).startsWith('file://')
    ? fileURLToPath((place[1] as string).replace(/:\d+$/, '')) +
      /:\d+$/.exec(place[1] as string)?.[0]
    : (place[1] as string);
  const line = (place[2] as string).trim();
  return `${text} (at ${where}${line === '' ? '' : `: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`})`;
}

async function load(file: string): Promise<Loaded> {
  let namespace: { default?: unknown };
  try {
    namespace = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    return { reason: importFailure(error, file) };
  }
  if (namespace.default === undefined) {
    return { reason: `it has no default export: end it with ${HOW_TO_EXPORT}` };
  }
  const definition = definitionOf(namespace.default);
  if (definition === undefined) {
    return { reason: `its default export is not made by defineTransform: ${HOW_TO_EXPORT}` };
  }
  return { definition };
}

async function invoke(
  request: InvokeRequest,
): Promise<{ reply: InvokeReply; transfer: ArrayBuffer[] }> {
  let loading = modules.get(request.file);
  let loadMs: number | undefined;
  if (loading === undefined) {
    const started = performance.now();
    loading = load(request.file);
    modules.set(request.file, loading);
    await loading;
    loadMs = performance.now() - started;
  }
  const loaded = await loading;
  if ('reason' in loaded)
    return { reply: { type: 'load-error', reason: loaded.reason }, transfer: [] };
  const inputs = new PackedInputs(request.packed);
  let packed: ArrayBuffer;
  const { definition } = loaded;
  if (inputs.count === 0) {
    // Only loading was asked for: the transform is not called with no records.
    packed = new OutcomeWriter(0).finish();
  } else if (definition.form === 'lambda') {
    try {
      packed = await runLambdaForm(definition.handler, inputs, request);
    } catch (error) {
      return { reply: { type: 'invocation-error', error: errorText(error) }, transfer: [] };
    }
  } else {
    packed = await runRecordForm(definition, inputs, request.streamName);
  }
  // A bytes-decoding record transform is handed views of the request's buffer and may keep
  // them: only a buffer no transform code can hold goes back to be reused.
  if (definition.form === 'record' && definition.decode === 'bytes') {
    return { reply: { type: 'result', packed, loadMs }, transfer: [packed] };
  }
  const spare = request.packed;
  return { reply: { type: 'result', packed, loadMs, spare }, transfer: [packed, spare] };
}

const port = parentPort;
if (port === null)
  throw new Error('transform-worker.ts runs in a worker thread, started by the worker pool');

/**
 * The pool may queue a task behind the running one: each starts when the one before it has
 * answered, also when a transform awaits, so one task runs at a time and its deadline is its own.
 */
let previous: Promise<void> = Promise.resolve();

const answer = (message: TaskMessage<InvokeRequest>): Promise<void> =>
  invoke(message.request)
    .catch((error: unknown) => ({
      // A defect in Sluice's worker code, not in the transform; reported like a function error.
      reply: {
        type: 'invocation-error',
        error: `Sluice's transform worker failed: ${errorText(error)}`,
      } as const,
      transfer: [],
    }))
    .then(({ reply, transfer }) => {
      const taskReply: TaskReply<InvokeReply> = { taskId: message.taskId, reply };
      port.postMessage(taskReply, transfer);
    });

port.on('message', (message: TaskMessage<InvokeRequest>) => {
  previous = previous.then(() => answer(message));
});
