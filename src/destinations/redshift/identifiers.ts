/**
 * SQL identifiers as `CopyCommand.DataTableName` and `DataTableColumns` give them: names
 * PostgreSQL and Redshift fold to lower case when unquoted, kept as written when double-quoted
 * (`"My Table"`, `""` for a quote inside). Parsed once when the destination is configured, and
 * always rendered quoted, so no name from a request is ever pasted into SQL as it came.
 */

/** A table name: its schema (absent: the connection's search path) and the table. */
export interface TableName {
  schema?: string | undefined;
  table: string;
}

/** Longest identifier PostgreSQL keeps (NAMEDATALEN − 1 bytes); Redshift allows 127. */
const MAX_IDENTIFIER_BYTES = 127;

/** Thrown for text that is not an identifier list of the expected shape. */
export class IdentifierError extends Error {
  override name = 'IdentifierError';
}

/**
 * Splits `text` into identifiers separated by `separator` (`.` in a table name, `,` in a
 * column list), with whitespace allowed around each.
 *
 * @throws IdentifierError saying what is wrong and where.
 */
export function parseIdentifiers(text: string, separator: '.' | ','): string[] {
  const names: string[] = [];
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && /\s/u.test(text[at] as string)) at += 1;
  };
  for (;;) {
    skipSpace();
    let name: string;
    if (text[at] === '"') {
      let end = at + 1;
      let value = '';
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote < 0)
          throw new IdentifierError(`a quoted name opened at character ${at + 1} is not closed`);
        value += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          end = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      if (value === '') throw new IdentifierError(`an empty quoted name at character ${at - 1}`);
      name = value;
    } else {
      const match = /^[\p{L}_][\p{L}\p{N}_$]*/u.exec(text.slice(at));
      if (match === null) {
        const found =
          at < text.length ? `${JSON.stringify(text[at])} at character ${at + 1}` : 'the end';
        throw new IdentifierError(
          `expected a name (letters, digits, _ and $, or a "quoted" name), found ${found}`,
        );
      }
      name = match[0].toLowerCase();
      at += match[0].length;
    }
    if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new IdentifierError(
        `the name ${JSON.stringify(name)} is longer than ${MAX_IDENTIFIER_BYTES} bytes`,
      );
    }
    names.push(name);
    skipSpace();
    if (at >= text.length) return names;
    if (text[at] !== separator) {
      throw new IdentifierError(
        `expected ${JSON.stringify(separator)} or the end after ${JSON.stringify(name)}, found ${JSON.stringify(text[at])} at character ${at + 1}`,
      );
    }
    at += 1;
  }
}

/**
 * `DataTableName`: `table` or `schema.table`.
 *
 * @throws IdentifierError when it is neither.
 */
export function parseTableName(text: string): TableName {
  const parts = parseIdentifiers(text, '.');
  if (parts.length === 1) return { table: parts[0] as string };
  if (parts.length === 2) return { schema: parts[0], table: parts[1] as string };
  throw new IdentifierError(
    `expected table or schema.table, found ${parts.length} dotted names (a database name cannot be given here: it is the ClusterJDBCURL's)`,
  );
}

/**
 * `DataTableColumns`: a comma-separated list of column names, each once.
 *
 * @throws IdentifierError for a malformed list or a name given twice.
 */
export function parseColumnList(text: string): string[] {
  const columns = parseIdentifiers(text, ',');
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column))
      throw new IdentifierError(`the column ${JSON.stringify(column)} is named more than once`);
    seen.add(column);
  }
  return columns;
}

/** One identifier, double-quoted for SQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A table name for SQL, every part quoted. */
export function renderTable(name: TableName): string {
  return name.schema === undefined
    ? quoteIdentifier(name.table)
    : `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/** A column list for SQL: `("a", "b")`. */
export function renderColumns(columns: readonly string[]): string {
  return `(${columns.map(quoteIdentifier).join(', ')})`;
}
