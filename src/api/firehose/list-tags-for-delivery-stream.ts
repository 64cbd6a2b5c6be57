import { z } from 'zod';
import { DeliveryStreamNameSchema, TagKeySchema } from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
import { awsInt, parseInput } from '../../config/validation.js';

/** `ListTagsForDeliveryStreamInput`. */
export const ListTagsForDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  ExclusiveStartTagKey: TagKeySchema.optional(),
  Limit: awsInt(1, 50).optional(),
});

/**
 * ListTagsForDeliveryStream: the stream's tags sorted by key, after `ExclusiveStartTagKey`,
 * at most `Limit` of them (all when absent).
 *
 * Answers `{"Tags": […], "HasMoreTags": …}`.
 */
export const listTagsForDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(ListTagsForDeliveryStreamInputSchema, input);
  const page = await ctx.registry.listTags(request.DeliveryStreamName, {
    limit: request.Limit,
    exclusiveStartKey: request.ExclusiveStartTagKey,
  });
  return { Tags: page.tags, HasMoreTags: page.hasMore };
};
