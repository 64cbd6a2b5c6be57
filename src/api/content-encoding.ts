import { promisify } from 'node:util';
import { gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { FirehoseError } from '../errors/catalogue.js';
import { renderValue } from '../config/validation.js';

type Decoder = (bytes: InputType, options: ZlibOptions) => Promise<Buffer>;

/**
 * The request `Content-Encoding`s Sluice decodes. `deflate` is the zlib format, as HTTP
 * defines it. A Map: the name comes from the request.
 */
const DECODERS: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  ['gzip', promisify(gunzip)],
  ['x-gzip', promisify(gunzip)],
  ['deflate', promisify(inflate)],
]);

/**
 * Undoes a request's `Content-Encoding` (an SDK or agent may compress request bodies) and
 * returns the body as sent before compression; `identity` or no header returns `body` as it is.
 *
 * Inflating stops as soon as the output passes `limit` bytes, so a small "gzip bomb" costs at
 * most `limit` bytes of memory. Inflating runs on libuv's thread pool, not the event loop.
 *
 * @param header the `Content-Encoding` header: one coding, or a comma-separated list applied in
 *   order (`identity` may appear anywhere; at most one compression).
 * @param limit the largest decoded body, the same bound the server applies to what it reads.
 * @throws FirehoseError `SerializationException` for a coding Sluice does not decode, more than
 *   one compression, or bytes that are not valid in the coding; `RequestEntityTooLargeException`
 *   when the decoded body would be larger than `limit`.
 */
export async function decodeContentEncoding(
  header: string | undefined,
  body: Buffer,
  limit: number,
): Promise<Buffer> {
  if (header === undefined) return body;
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    // Empty list elements are allowed (and ignored) by HTTP's list syntax.
    .filter((coding) => coding !== 'identity' && coding !== '');
  if (codings.length === 0) return body;
  const [coding] = codings;
  const decoder = coding === undefined ? undefined : DECODERS.get(coding);
  if (codings.length > 1 || decoder === undefined) {
    throw new FirehoseError(
      'SerializationException',
      `Content-Encoding '${renderValue(header)}' is not supported: Sluice decodes one of gzip, deflate or identity`,
    );
  }
  try {
    return await decoder(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FirehoseError(
        'RequestEntityTooLargeException',
        `Request body is larger than ${limit} bytes after decoding its Content-Encoding ${coding}`,
      );
    }
    throw new FirehoseError(
      'SerializationException',
      `Request body is not valid ${coding} (Content-Encoding): ${(error as Error).message}`,
    );
  }
}
