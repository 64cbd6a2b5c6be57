import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DestinationServices, SendResult } from '../destination-kind.js';
import type { RedshiftConnections } from './connections.js';
import { withDatabaseSession } from './database-session.js';
import { renderColumns, renderTable, type TableName } from './identifiers.js';
import { PositionDigest, positionsKey, type LoadOutcome } from './ledger.js';
import { loadOnce, POSTGRES_LEDGER, type LoadIdentity } from './ledger-transaction.js';
import type { RedshiftDeliveryPlan } from './plan.js';
import { runLayout, runPositionBytes } from './record-runs.js';
import { convertOnWorker } from './row-conversion-pool.js';
import type { ConvertedRows } from './row-conversion.js';
import type { RowTask } from './row-worker.js';
import type { RedshiftRequest } from './request.js';

/**
 * The direct path's sender: loads one attempt's records into PostgreSQL in one transaction
 * with its ledger row (ledger-transaction.ts). When the request knows its records' positions,
 * the row is claimed under their key first and the runs stream into the COPY as they are read
 * from the batch (the key of the records read is checked before the commit); else the runs are
 * read whole first.
 * Rows PostgreSQL rejects (a data exception or an integrity violation) are isolated by loading
 * the batch in segments under savepoints, split where the error says (its line) or in halves,
 * until each bad record is alone; the rest is loaded. Any other error ends the attempt with
 * nothing committed. It never classifies: the classifier does.
 */

/** What a load answered (or what the ledger says a committed one answered). */
export interface RedshiftResponse extends LoadOutcome {
  /** The ledger key the load was recorded under. */
  key: string;
  /** Whether the ledger already held this load (a redelivery): nothing was loaded now. */
  replayed: boolean;
}

/** Records in a COPY stream's pieces: about a mebibyte each. */
const COPY_PIECE_BYTES = 1 << 20;
/** Runs converting ahead of the COPY streaming an earlier one. */
const RUNS_AHEAD = 2;

/** One record with rows to load: a view into the rows of the run it was converted in. */
interface LoadItem {
  index: number;
  rows: Buffer;
  lines: number;
}

/**
 * The sender. A batch that could not be read while its runs streamed is that error, thrown
 * (the driver retries it as it does a batch its builder could not read), not a database's.
 * An attempt the ledger answered before any run was read still reads them: the driver counts
 * the records it delivered (and finds a rejected record's position) as they pass, and they
 * must be those the key named — else they are sent again under their own key.
 */
export async function sendRedshiftRequest(
  request: RedshiftRequest,
  services: DestinationServices,
): Promise<SendResult<RedshiftResponse>> {
  const source = new RunSource(request.runs);
  try {
    const result = await withDatabaseSession(
      services.redshift,
      request.plan,
      request.credentials,
      (client, connections) => load(client, request, source, connections),
    );
    if (source.failure !== undefined) throw source.failure.error;
    if ('response' in result && !source.started) {
      const runs = await source.all();
      if (runsKey(request.plan, runs).key !== result.response.key) {
        return await sendRedshiftRequest({ ...request, runs, positions: undefined }, services);
      }
    }
    return result;
  } finally {
    await source.close();
  }
}

/** The ledger identity of the records of `runs`: the positions they hold, one view per run. */
function runsKey(plan: RedshiftDeliveryPlan, runs: readonly Buffer[]): LoadIdentity {
  const digest = new PositionDigest();
  for (const run of runs) {
    const layout = runLayout(run);
    digest.update(runPositionBytes(run, layout), layout.count);
  }
  return { key: digest.key(plan), records: digest.records };
}

/**
 * One attempt's load: its records converted and COPYed, rejected rows isolated. The ledger key
 * digests the positions of the records: those the request names, else the runs' own (read
 * whole first), one view per run.
 */
async function load(
  client: pg.PoolClient,
  { plan, positions }: RedshiftRequest,
  source: RunSource,
  connections: RedshiftConnections,
): Promise<RedshiftResponse> {
  const identity =
    positions !== undefined
      ? { key: positionsKey(plan, positions), records: positions.length }
      : runsKey(plan, await source.all());
  return loadOnce(client, connections, plan, identity, POSTGRES_LEDGER, async () => {
    const columns = plan.columns ?? (await tableColumns(client, plan.table));
    const rows = new RowConverter(source, plan, columns);
    const rejected = await loadIsolating(client, copyStatement(plan, columns), rows);
    const failed = [...rows.failed, ...rejected];
    failed.sort((a, b) => a.index - b.index);
    const records = rows.digest.records;
    return {
      outcome: { loaded: records - failed.length, failed },
      loadedAs: { key: rows.digest.key(plan), records },
    };
  });
}

/**
 * The request's runs, read once in order: from the list the builder collected, or as the
 * batch streams them. A read that fails is kept as {@link failure}, so the sender can tell it
 * from a database's error.
 */
class RunSource {
  failure: { error: unknown } | undefined;
  /** Whether a run was asked for. */
  started = false;
  #iterator: Iterator<Buffer> | AsyncIterator<Buffer>;
  #done = false;

  constructor(runs: readonly Buffer[] | AsyncIterable<Buffer>) {
    this.#iterator = isRunList(runs) ? runs[Symbol.iterator]() : runs[Symbol.asyncIterator]();
  }

  /** The next run; undefined when none is left. */
  async next(): Promise<Buffer | undefined> {
    this.started = true;
    if (this.#done) return undefined;
    let next: IteratorResult<Buffer>;
    try {
      next = await this.#iterator.next();
    } catch (error) {
      this.#done = true;
      this.failure = { error };
      throw error;
    }
    if (next.done === true) this.#done = true;
    return next.done === true ? undefined : next.value;
  }

  /** Every run left, read now (runs read later start with the first of these again). */
  async all(): Promise<readonly Buffer[]> {
    const runs: Buffer[] = [];
    for (let run = await this.next(); run !== undefined; run = await this.next()) runs.push(run);
    this.#iterator = runs[Symbol.iterator]();
    this.#done = false;
    return runs;
  }

  /** Stops reading: a load that ended early leaves the batch's read where it was. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      await this.#iterator.return?.();
    } catch {
      // Nothing of a read that fails as it stops was loaded: the load ended without it.
    }
  }
}

function isRunList(runs: readonly Buffer[] | AsyncIterable<Buffer>): runs is readonly Buffer[] {
  return Array.isArray(runs);
}

/**
 * The columns of the table that COPY can fill, in order: identity and generated columns are
 * left to the table, as Redshift's COPY leaves IDENTITY columns.
 */
async function tableColumns(client: pg.PoolClient, table: TableName): Promise<string[]> {
  const result = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
       AND attidentity = '' AND attgenerated = ''
     ORDER BY attnum`,
    [renderTable(table)],
  );
  return result.rows.map((r) => r.attname);
}

/** The COPY statement of the plan's format. */
export function copyStatement(plan: RedshiftDeliveryPlan, columns: readonly string[]): string {
  const head = `COPY ${renderTable(plan.table)} ${renderColumns(columns)} FROM STDIN`;
  const format = plan.format;
  if (format.kind !== 'csv') return head;
  return `${head} WITH (FORMAT csv, DELIMITER ${literal(format.delimiter)}, QUOTE ${literal(format.quote)}, NULL ${literal(format.nullAs)})`;
}

/** A string literal that means the same whatever `standard_conforming_strings` is. */
function literal(value: string): string {
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** Whether an error is PostgreSQL rejecting rows: a data exception or an integrity violation. */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/u.test(code);
}

/**
 * Loads `items` in segments under a savepoint each; a segment PostgreSQL rejects is rolled
 * back and split — around the record holding the line the error names, else in halves —
 * until the bad records are alone. Segments are loaded in order, so rows keep the batch's.
 *
 * @returns the records rejected, with the database's message.
 */
async function loadIsolating(
  client: pg.PoolClient,
  statement: string,
  rows: RowConverter,
): Promise<LoadOutcome['failed']> {
  const rejected: LoadOutcome['failed'] = [];
  // The first COPY converts records as it streams them, so converting overlaps loading.
  let error = await tryCopy(client, statement, rows.stream());
  if (error === undefined) return rejected;
  await rows.finish();
  const queue: (readonly LoadItem[])[] = [];
  const split = (segment: readonly LoadItem[], failure: unknown) => {
    if (segment.length === 1) {
      rejected.push({ index: (segment[0] as LoadItem).index, message: rowMessage(failure) });
    } else {
      queue.unshift(...splitSegment(segment, errorLine(failure)));
    }
  };
  split(rows.items(), error);
  while (queue.length > 0) {
    const segment = queue.shift() as readonly LoadItem[];
    error = await tryCopy(client, statement, pieces(segment));
    if (error !== undefined) split(segment, error);
  }
  return rejected;
}

/**
 * One COPY of `segment` under a savepoint.
 *
 * @returns the error when PostgreSQL rejected rows (rolled back to the savepoint), else undefined.
 * @throws any other error.
 */
async function tryCopy(
  client: pg.PoolClient,
  statement: string,
  segment: Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<unknown> {
  await client.query('SAVEPOINT sluice_segment');
  try {
    await copySegment(client, statement, segment);
    await client.query('RELEASE SAVEPOINT sluice_segment');
    return undefined;
  } catch (error) {
    if (!isRowError(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT sluice_segment');
    await client.query('RELEASE SAVEPOINT sluice_segment');
    return error;
  }
}

/**
 * The attempt's records as rows, converted once, in order, as they are first needed: the
 * record runs go to the row conversion workers (row-conversion-pool.ts) as they are (their
 * buffers move there), {@link RUNS_AHEAD} runs ahead of the COPY, so converting the next runs
 * overlaps streaming this one. Records that cannot become rows are noted as failed, records
 * without rows are left out. The positions of the records taken are digested on the way
 * ({@link digest}): the key of the records actually loaded.
 */
class RowConverter {
  readonly failed: LoadOutcome['failed'] = [];
  /** The positions of the records read so far. */
  readonly digest = new PositionDigest();
  /** The runs converted so far, in order. */
  private readonly runs: ConvertedRows[] = [];
  /** Runs sent to the workers and not taken yet, in order. */
  private readonly pending: Promise<ConvertedRows>[] = [];
  /** The attempt's index of the next run's first record. */
  private nextIndex = 0;
  /** The last step asked for (see {@link serially}). */
  private steps: Promise<unknown> = Promise.resolve();
  private readonly task: Pick<RowTask, 'format' | 'columns'>;

  constructor(
    private readonly source: RunSource,
    plan: RedshiftDeliveryPlan,
    columns: readonly string[],
  ) {
    this.task = { format: plan.format, columns };
  }

  /** Converts and yields the rows of the records not converted yet, a run at a time. */
  async *stream(): AsyncGenerator<Buffer> {
    for (;;) {
      const run = await this.serially(() => this.advance(RUNS_AHEAD));
      if (run === undefined) return;
      if (run.rows.length > 0) yield asBuffer(run.rows);
    }
  }

  /**
   * Converts every record left (the runs already sent first, to keep the order), after
   * whatever {@link stream} was doing when its COPY failed.
   */
  async finish(): Promise<void> {
    while ((await this.serially(() => this.advance(1))) !== undefined);
  }

  /**
   * Runs `step` after the steps asked for before it: a stream whose COPY failed may still be
   * taking a run when {@link finish} starts, and runs must be taken in order, each once.
   */
  private serially<T>(step: () => Promise<T>): Promise<T> {
    const result = this.steps.then(step);
    this.steps = result.catch(() => undefined);
    return result;
  }

  /** Sends runs until `ahead` are converting (or none is left), then takes the first. */
  private async advance(ahead: number): Promise<ConvertedRows | undefined> {
    while (this.pending.length < ahead) {
      const run = await this.source.next();
      if (run === undefined) break;
      this.dispatch(run);
    }
    return this.take();
  }

  /**
   * The records with rows converted so far, each its rows as a view into its run's: made only
   * when rows must be isolated, so a load without rejected rows makes no object per record.
   */
  items(): LoadItem[] {
    const items: LoadItem[] = [];
    for (const run of this.runs) {
      const rows = asBuffer(run.rows);
      let start = 0;
      for (let k = 0; k < run.indexes.length; k += 1) {
        const end = run.ends[k] as number;
        items.push({
          index: run.indexes[k] as number,
          rows: rows.subarray(start, end),
          lines: run.lines[k] as number,
        });
        start = end;
      }
    }
    return items;
  }

  /** Sends a run of records to the workers (its buffer moves there), its positions digested. */
  private dispatch(piece: Buffer): void {
    const layout = runLayout(piece);
    if (layout.count === 0) return;
    this.digest.update(runPositionBytes(piece, layout), layout.count);
    const firstIndex = this.nextIndex;
    this.nextIndex += layout.count;
    const run = convertOnWorker({ ...this.task, run: ownBuffer(piece), firstIndex });
    // A COPY that stops early leaves runs behind: their failure is the next take's, not unhandled.
    run.catch(() => undefined);
    this.pending.push(run);
  }

  /** The next run sent, once converted; undefined when none is pending. */
  private async take(): Promise<ConvertedRows | undefined> {
    const next = this.pending.shift();
    if (next === undefined) return undefined;
    const run = await next;
    this.runs.push(run);
    for (const failure of run.failed) this.failed.push(failure);
    return run;
  }
}

/**
 * The ArrayBuffer of `piece` when the piece is all of it (the encoder makes runs so: the
 * buffer is transferred to a worker, no copy), else a copy of the piece in one of its own.
 */
function ownBuffer(piece: Buffer): ArrayBuffer {
  const buffer = piece.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    piece.byteOffset === 0 &&
    piece.length === buffer.byteLength
  ) {
    return buffer;
  }
  const copy = new ArrayBuffer(piece.length);
  new Uint8Array(copy).set(piece);
  return copy;
}

/** A view of `bytes` as a Buffer, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Fewest records in a piece of the rest of a segment after a located bad record. */
const MIN_PIECE = 64;

/**
 * The segment in pieces: before the record of `line`, that record, and the rest in pieces;
 * without a line (or one past the segment), two halves.
 */
export function splitSegment<T extends { lines: number }>(
  segment: readonly T[],
  line: number | undefined,
): (readonly T[])[] {
  if (line !== undefined) {
    let seen = 0;
    for (let k = 0; k < segment.length; k += 1) {
      seen += (segment[k] as T).lines;
      if (line <= seen) {
        const pieces = [segment.slice(0, k), segment.slice(k, k + 1)];
        // The rest in pieces of about twice the distance to this bad record: dense bad rows
        // then cost small re-sends, sparse ones few statements, and no record is sent again
        // once per bad row before it.
        const size = Math.max(MIN_PIECE, 2 * (k + 1));
        for (let at = k + 1; at < segment.length; at += size)
          pieces.push(segment.slice(at, at + size));
        return pieces.filter((piece) => piece.length > 0);
      }
    }
  }
  const half = Math.ceil(segment.length / 2);
  return [segment.slice(0, half), segment.slice(half)];
}

/** The line of the COPY data an error names (`COPY t, line 3, column a: …`). */
function errorLine(error: unknown): number | undefined {
  const where = (error as { where?: unknown }).where;
  const line = typeof where === 'string' ? /\bline (\d+)\b/u.exec(where)?.[1] : undefined;
  return line === undefined ? undefined : Number(line);
}

/** The message of a rejected row: PostgreSQL's, with its detail, column and SQLSTATE. */
function rowMessage(error: unknown): string {
  const e = error as { message?: string; detail?: string; where?: string; code?: string };
  const column = typeof e.where === 'string' ? /\bcolumn (.*)$/su.exec(e.where)?.[1] : undefined;
  return `PostgreSQL rejected the row: ${e.message ?? 'unknown error'}${e.detail ? `. ${e.detail}` : ''}${column !== undefined ? ` (column ${column})` : ''} [SQLSTATE ${e.code ?? '?'}]`;
}

/** One COPY … FROM STDIN of a segment's rows, streamed in pieces of about a mebibyte. */
async function copySegment(
  client: pg.PoolClient,
  statement: string,
  segment: Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<void> {
  const stream = client.query(copyFrom(statement));
  await pipeline(Readable.from(segment), stream);
}

/**
 * The rows of a segment's records in pieces of about {@link COPY_PIECE_BYTES}: records that
 * lie side by side in one run's rows are sent as one view of them, without copying.
 */
function* pieces(segment: Iterable<LoadItem>): Generator<Buffer> {
  let run: Buffer | undefined;
  for (const item of segment) {
    const rows = item.rows;
    if (
      run !== undefined &&
      run.buffer === rows.buffer &&
      run.byteOffset + run.length === rows.byteOffset &&
      run.length < COPY_PIECE_BYTES
    ) {
      run = Buffer.from(run.buffer, run.byteOffset, run.length + rows.length);
      continue;
    }
    if (run !== undefined && run.length > 0) yield run;
    run = rows;
  }
  if (run !== undefined && run.length > 0) yield run;
}
