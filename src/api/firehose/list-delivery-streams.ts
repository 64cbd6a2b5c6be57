import { z } from 'zod';
import {
  DeliveryStreamNameSchema,
  DeliveryStreamTypeSchema,
} from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
import { awsInt, parseInput } from '../../config/validation.js';

/** `ListDeliveryStreamsInput`. */
export const ListDeliveryStreamsInputSchema = z.object({
  Limit: awsInt(1, 10_000).optional(),
  DeliveryStreamType: DeliveryStreamTypeSchema.optional(),
  ExclusiveStartDeliveryStreamName: DeliveryStreamNameSchema.optional(),
});

/** Firehose's page size when the request gives no `Limit`. */
export const DEFAULT_LIST_LIMIT = 10;

/**
 * ListDeliveryStreams: names in alphabetical order, `Limit` (default 10) at a time, after
 * `ExclusiveStartDeliveryStreamName`, optionally only of one `DeliveryStreamType`. DELETING
 * streams are listed until they are removed.
 *
 * Answers `{"DeliveryStreamNames": […], "HasMoreDeliveryStreams": …}`.
 */
export const listDeliveryStreams: OperationHandler = async (input, ctx) => {
  const request = parseInput(ListDeliveryStreamsInputSchema, input);
  const page = await ctx.registry.list({
    limit: request.Limit ?? DEFAULT_LIST_LIMIT,
    exclusiveStartName: request.ExclusiveStartDeliveryStreamName,
    type: request.DeliveryStreamType,
  });
  return { DeliveryStreamNames: page.names, HasMoreDeliveryStreams: page.hasMore };
};
