import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatGlueType, GlueTypeError, parseGlueType } from './glue-type.js';
import type { Column, TableSchema } from './table-schema.js';

/**
 * The local table catalog: where `SchemaConfiguration.DatabaseName` and `TableName` are
 * resolved, as Firehose resolves them against Glue. A directory (`SLUICE_CATALOG_DIR`) with one
 * file per table, `<database>/<table>.json`:
 *
 *     {"columns": [{"name": "event_time", "type": "timestamp"}, {"name": "tags", "type": "array<string>"}]}
 *
 * Names are Glue's: letters, digits and underscores, matched case-insensitively (the files'
 * names are lower case). A table is read again when its file changes (size or modification
 * time), so an edit takes effect for the next batch.
 */

/** A table that cannot be found or read, or whose columns are not ones Sluice converts to. */
export class CatalogError extends Error {
  override name = 'CatalogError';
}

/** Glue's database and table names: lower-case letters, digits, underscores; up to 255. */
const NAME = /^[A-Za-z0-9_]{1,255}$/;

interface Cached {
  size: number;
  mtimeMs: number;
  table: TableSchema;
}

/** Tables of a catalog directory, cached until their file changes. */
export class TableCatalog {
  readonly dir: string;
  readonly #cache = new Map<string, Cached>();

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Where a table's file is (names lower-cased). @throws CatalogError for a name Glue refuses. */
  fileOf(database: string, table: string): string {
    for (const [what, name] of [
      ['DatabaseName', database],
      ['TableName', table],
    ] as const) {
      if (!NAME.test(name)) {
        throw new CatalogError(
          `SchemaConfiguration.${what} ${JSON.stringify(name)} is not a table catalog name: use letters, digits and underscores (at most 255)`,
        );
      }
    }
    return join(this.dir, database.toLowerCase(), `${table.toLowerCase()}.json`);
  }

  /**
   * The table `database.table`.
   *
   * @throws CatalogError when there is no such file, or it is not a valid table.
   */
  async table(database: string, table: string): Promise<TableSchema> {
    const file = this.fileOf(database, table);
    let stats: Stats;
    try {
      stats = await stat(file);
    } catch {
      throw this.#missing(database, table, file);
    }
    return (
      this.#cached(file, stats) ??
      this.#parsed(file, stats, await readFile(file, 'utf8'), `${database}.${table}`)
    );
  }

  /**
   * {@link table}, reading synchronously: for the control plane's check of a new or updated
   * destination, which runs inside the registry's update (a table file is small and cached).
   */
  tableSync(database: string, table: string): TableSchema {
    const file = this.fileOf(database, table);
    let stats: Stats;
    try {
      stats = statSync(file);
    } catch {
      throw this.#missing(database, table, file);
    }
    return (
      this.#cached(file, stats) ??
      this.#parsed(file, stats, readFileSync(file, 'utf8'), `${database}.${table}`)
    );
  }

  #cached(file: string, stats: Stats): TableSchema | undefined {
    const cached = this.#cache.get(file);
    return cached?.size === stats.size && cached.mtimeMs === stats.mtimeMs
      ? cached.table
      : undefined;
  }

  #parsed(file: string, stats: Stats, text: string, name: string): TableSchema {
    const parsed = parseTableFile(text, `${name} (${file})`);
    this.#cache.set(file, { size: stats.size, mtimeMs: stats.mtimeMs, table: parsed });
    return parsed;
  }

  #missing(database: string, table: string, file: string): CatalogError {
    return new CatalogError(
      `table ${database}.${table} is not in the table catalog: there is no file ${file} (SLUICE_CATALOG_DIR is ${this.dir}); create it, e.g. with \`sluice catalog infer <sample records>\``,
    );
  }
}

/**
 * A table file's text as a table.
 *
 * @param where - Names the table in errors.
 * @throws CatalogError saying what is wrong and where.
 */
export function parseTableFile(text: string, where: string): TableSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CatalogError(`table ${where} is not JSON: ${(error as Error).message}`);
  }
  const columns = (json as { columns?: unknown } | null)?.columns;
  if (typeof json !== 'object' || json === null || !Array.isArray(columns)) {
    throw new CatalogError(
      `table ${where} must be an object with a "columns" array of {"name", "type"}`,
    );
  }
  if (columns.length === 0) throw new CatalogError(`table ${where} has no columns`);
  const seen = new Set<string>();
  const result: Column[] = columns.map((column: unknown, i) => {
    const { name, type } = (column ?? {}) as { name?: unknown; type?: unknown };
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new CatalogError(
        `table ${where}: columns[${i}].name must be a column name (letters, digits, underscores), got ${JSON.stringify(name)}`,
      );
    }
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new CatalogError(`table ${where}: column ${lower} appears twice`);
    seen.add(lower);
    if (typeof type !== 'string') {
      throw new CatalogError(`table ${where}: column ${lower} needs a "type" string`);
    }
    try {
      return { name: lower, type: parseGlueType(type) };
    } catch (error) {
      if (!(error instanceof GlueTypeError)) throw error;
      throw new CatalogError(`table ${where}: column ${lower}: ${error.message}`);
    }
  });
  return { columns: result };
}

/** A table as a table file's text (what `sluice catalog infer` writes). */
export function formatTableFile(table: TableSchema): string {
  const lines = table.columns.map(
    (c) => `    ${JSON.stringify({ name: c.name, type: formatGlueType(c.type) })}`,
  );
  return `{\n  "columns": [\n${lines.join(',\n')}\n  ]\n}\n`;
}
