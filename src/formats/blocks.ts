/**
 * Helpers of the block-wise codecs (Snappy, Hadoop-Snappy): a body's pieces cut into blocks of
 * a fixed size, and a block function run on several blocks at once with the results in order.
 */

/**
 * `pieces` cut into blocks of exactly `size` bytes (the last one shorter). A block within one
 * piece is a view of it, not a copy.
 */
export async function* blocksOf(
  pieces: AsyncIterable<Buffer>,
  size: number,
): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of pieces) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(size - length, piece.length - offset);
      pending.push(piece.subarray(offset, offset + take));
      length += take;
      offset += take;
      if (length === size) {
        yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, size);
        pending = [];
        length = 0;
      }
    }
  }
  if (length > 0)
    yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, length);
}

/**
 * `map` over `source`, up to `concurrency` items at once, the results in `source`'s order. An
 * item's rejection surfaces when its turn comes; one that comes after the consumer stopped is
 * dropped, never an unhandled rejection.
 */
export async function* mapInOrder<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  map: (item: T) => Promise<R>,
): AsyncIterable<R> {
  const running: Promise<R>[] = [];
  const start = (item: T): void => {
    const result = map(item);
    result.catch(() => undefined);
    running.push(result);
  };
  for await (const item of source) {
    start(item);
    if (running.length >= concurrency) yield await (running.shift() as Promise<R>);
  }
  while (running.length > 0) yield await (running.shift() as Promise<R>);
}
