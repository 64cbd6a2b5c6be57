/**
 * Strings in the order Parquet orders UTF8 values by for min/max statistics: the unsigned order
 * of their UTF-8 bytes, which is code point order. JavaScript's `<` compares UTF-16 code units,
 * which differs for U+E000–U+FFFF against characters past U+FFFF (surrogate pairs), and a lone
 * surrogate is written to UTF-8 as U+FFFD.
 */

/** `text` with lone surrogates replaced by U+FFFD, as its UTF-8 bytes hold it. */
export function wellFormed(text: string): string {
  // ES2024's String.prototype.toWellFormed (Node 20 on); the project's lib is ES2023.
  return (text as unknown as { toWellFormed(): string }).toWellFormed();
}

/** Negative, zero or positive as well-formed `a` sorts before, with or after `b` in UTF-8. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (U+10000 on) after U+E000–U+FFFF.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}
