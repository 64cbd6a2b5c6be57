/**
 * The inputs of the HTTP records endpoint (`POST /v1/streams/{stream}/records`) other than its
 * body, one zod schema each: validation, types and the 400 messages, which name the parameter
 * at fault (as the admin API's do).
 */
import { z } from 'zod';
import { DeliveryStreamNameSchema } from '../../streams/stream-definition.js';

/** The path's parameters. */
export const RecordsParamsSchema = z.strictObject({ stream: DeliveryStreamNameSchema });

/** The query. */
export const RecordsQuerySchema = z.strictObject({
  /**
   * Whether each record gets a `\n` at its end (default `true`), so that delivered objects hold
   * one record a line, as they arrived; `false` stores the lines' bytes only.
   */
  newline: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .transform((value) => value === 'true')
    .optional(),
});

/** Longest `Idempotency-Key`. */
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;

/**
 * The headers read besides Content-Type and Content-Encoding. `idempotency-key`: a repeat of a
 * request with the same key within a minute stores nothing and is answered as the first was.
 */
export const RecordsHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .regex(new RegExp(`^[\\x21-\\x7e]{1,${MAX_IDEMPOTENCY_KEY_CHARS}}$`), {
      message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters`,
    })
    .optional(),
});
