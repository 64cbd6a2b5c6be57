import { countOf, formatCount } from './format.js';
import type { TextSink } from './command.js';

/**
 * A one-line progress bar on a terminal, redrawn in place (`\r`, then erase to the end of the
 * line): `[############............]  50% 602/1,204 records, 1/3 items`. Disabled, it writes
 * nothing at all, so that output piped to a file or a CI log is not filled with redraws.
 */

/** Characters of the bar between its brackets. */
const BAR_WIDTH = 24;
/** ANSI "erase to end of line": a shorter redraw leaves no tail of the longer one before it. */
const ERASE_TO_END = '\u001b[K';

/** What is to be done, and how much of it is. */
export interface Progress {
  readonly records: number;
  readonly items: number;
}

/** A progress bar over a known total of records and items. */
export class ProgressBar {
  private drawn = false;

  /**
   * @param enabled - draw at all; the CLI passes whether stderr is a terminal.
   * @param itemNoun - what an item is called on the bar, such as `request`.
   */
  constructor(
    private readonly sink: TextSink,
    private readonly enabled: boolean,
    private readonly total: Progress,
    private readonly itemNoun = 'item',
  ) {}

  /** Draws the bar at `done` (call it with zero to show the bar before the first step). */
  update(done: Progress): void {
    if (!this.enabled) return;
    this.sink.write(`\r${this.render(done)}${ERASE_TO_END}`);
    this.drawn = true;
  }

  /** Ends the bar's line, so what is written next starts on a line of its own. */
  finish(): void {
    if (this.enabled && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }

  /** The bar's text at `done`, without control characters. */
  render(done: Progress): string {
    // Records measure the work best; a selection of empty items is measured in items.
    const fraction =
      this.total.records > 0
        ? done.records / this.total.records
        : this.total.items > 0
          ? done.items / this.total.items
          : 1;
    const clamped = Math.min(Math.max(fraction, 0), 1);
    const filled = Math.round(clamped * BAR_WIDTH);
    const percent = `${Math.floor(clamped * 100)}%`.padStart(4);
    return (
      `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ` +
      `${formatCount(done.records)}/${countOf(this.total.records, 'record')}, ` +
      `${formatCount(done.items)}/${countOf(this.total.items, this.itemNoun)}`
    );
  }
}
