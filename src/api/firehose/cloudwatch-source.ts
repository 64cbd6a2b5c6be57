import { decodeChunk } from '../../buffer/frame.js';
import { kindByShape } from '../../destinations/registry.js';
import { FirehoseError } from '../../errors/catalogue.js';
import { isGzip } from '../../processors/builtin/decompression.js';
import type { StreamRegistry } from '../../streams/registry.js';

/**
 * Firehose's rule for streams with the `Decompression` processor: "Only requests from
 * CloudWatch Logs are supported when CloudWatch Logs decompression is enabled"
 * (`InvalidSourceException`). Sluice cannot tell who sent a request, so it holds puts to what
 * CloudWatch Logs sends: every record gzip-compressed. A put with any other record is refused
 * whole and stores nothing; a record that starts like gzip but is not goes, when it is
 * processed, to the error output as `decompression-failed`.
 */

/** How long whether a stream decompresses is remembered: an update applies within it. */
const REMEMBER_MS = 1_000;
/** Most streams remembered at once (the map is cleared past it). */
const REMEMBERED_STREAMS = 10_000;

/** Knows, per stream and cheaply, whether puts must carry CloudWatch Logs (gzip) records. */
export class CloudWatchSourceRule {
  readonly #remembered = new Map<string, { decompresses: boolean; untilMs: number }>();

  constructor(private readonly registry: Pick<StreamRegistry, 'get'>) {}

  /**
   * Refuses the put when `stream` decompresses and a record of `chunk` is not gzip.
   *
   * @throws FirehoseError `InvalidSourceException`, naming the first such record.
   */
  async check(stream: string, chunk: Buffer, nowMs: number): Promise<void> {
    if (!(await this.decompresses(stream, nowMs))) return;
    const records = decodeChunk(chunk);
    const index = records.findIndex((record) => !isGzip(record.data));
    if (index < 0) return;
    throw new FirehoseError(
      'InvalidSourceException',
      `Only requests from CloudWatch Logs are supported when CloudWatch Logs decompression is enabled. Record ${index + 1} of the request is not gzip-compressed CloudWatch Logs data.`,
    );
  }

  private async decompresses(stream: string, nowMs: number): Promise<boolean> {
    const known = this.#remembered.get(stream);
    if (known !== undefined && known.untilMs > nowMs) return known.decompresses;
    const definition = await this.registry.get(stream);
    // An unknown stream is the append's to refuse (ResourceNotFoundException).
    const decompresses =
      definition !== undefined &&
      kindByShape(definition.destination.shape)
        .processing(definition.destination.config)
        .processors.some((processor) => processor.Type === 'Decompression');
    if (this.#remembered.size >= REMEMBERED_STREAMS) this.#remembered.clear();
    this.#remembered.set(stream, { decompresses, untilMs: nowMs + REMEMBER_MS });
    return decompresses;
  }
}
