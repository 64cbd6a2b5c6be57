/** A column of a text table: its header and which side its cells are aligned to. */
export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. */
  readonly align: 'left' | 'right';
}

/**
 * Rows as a plain-text table: a header line, then one line a row, columns two spaces apart.
 * Cells are put on one line (newlines and runs of spaces in a reason become one space), so each
 * row stays one line for `grep` and `wc -l`; the last column is not padded.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const cells = rows.map((row) =>
    columns.map((_, i) => (row[i] ?? '').replace(/\s+/g, ' ').trim()),
  );
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const last = i === columns.length - 1;
        if (columns[i]?.align === 'right') return cell.padStart(widths[i] ?? 0);
        return last ? cell : cell.padEnd(widths[i] ?? 0);
      })
      .join('  ');
  return [columns.map((c) => c.header), ...cells].map(line).join('\n') + '\n';
}
