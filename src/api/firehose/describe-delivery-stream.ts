import { z } from 'zod';
import { DeliveryStreamNameSchema, DestinationIdSchema } from '../../streams/stream-definition.js';
import { describeStream } from '../../streams/describe.js';
import type { OperationHandler } from '../context.js';
import { awsInt, parseInput } from '../../config/validation.js';

/** `DescribeDeliveryStreamInput`. */
export const DescribeDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  Limit: awsInt(1, 10_000).optional(),
  ExclusiveStartDestinationId: DestinationIdSchema.optional(),
});

/**
 * DescribeDeliveryStream: the stream's `DeliveryStreamDescription`, including while it is
 * DELETING.
 *
 * Answers `{"DeliveryStreamDescription": …}`.
 */
export const describeDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(DescribeDeliveryStreamInputSchema, input);
  const def = await ctx.registry.getExisting(request.DeliveryStreamName);
  return {
    DeliveryStreamDescription: describeStream(def, {
      limit: request.Limit,
      exclusiveStartDestinationId: request.ExclusiveStartDestinationId,
    }),
  };
};
