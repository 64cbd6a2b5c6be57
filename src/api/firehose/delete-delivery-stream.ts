import { z } from 'zod';
import { DeliveryStreamNameSchema } from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/** `DeleteDeliveryStreamInput`. */
export const DeleteDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  AllowForceDelete: z.boolean().optional(),
});

/**
 * DeleteDeliveryStream: marks the stream DELETING, as Firehose does. Puts are refused from
 * then on; the delivery side delivers what is buffered and then removes the stream, and
 * Describe shows DELETING meanwhile. Deleting a DELETING stream again succeeds.
 * `AllowForceDelete` is accepted and changes nothing (it concerns KMS grants, which Sluice
 * does not have).
 *
 * Answers `{}`.
 */
export const deleteDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(DeleteDeliveryStreamInputSchema, input);
  await ctx.registry.markDeleting(request.DeliveryStreamName);
  ctx.log.info(
    { event: 'stream.deleted', stream: request.DeliveryStreamName },
    'stream deleted: it takes no more records, and is removed once its buffer is delivered',
  );
  return {};
};
