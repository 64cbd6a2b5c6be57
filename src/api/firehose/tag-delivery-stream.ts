import { z } from 'zod';
import {
  DeliveryStreamNameSchema,
  TagListSchema,
  normalizeTags,
} from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/** `TagDeliveryStreamInput`. */
export const TagDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  Tags: TagListSchema,
});

/**
 * TagDeliveryStream: adds tags, replacing the values of keys the stream already has; a stream
 * carries at most 50 tags (LimitExceededException beyond).
 *
 * Answers `{}`.
 */
export const tagDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(TagDeliveryStreamInputSchema, input);
  await ctx.registry.tag(request.DeliveryStreamName, normalizeTags(request.Tags));
  return {};
};
