import { z } from 'zod';
import { DeliveryStreamNameSchema, TagKeyListSchema } from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/** `UntagDeliveryStreamInput`. */
export const UntagDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  TagKeys: TagKeyListSchema,
});

/**
 * UntagDeliveryStream: removes tags by key; keys the stream does not have are ignored.
 *
 * Answers `{}`.
 */
export const untagDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(UntagDeliveryStreamInputSchema, input);
  await ctx.registry.untag(request.DeliveryStreamName, request.TagKeys);
  return {};
};
