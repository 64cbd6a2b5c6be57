import {
  CreateDeliveryStreamInputSchema,
  definitionFromCreateInput,
  verifyDestination,
} from '../../streams/stream-definition.js';
import { verifyContextOf, type OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/**
 * CreateDeliveryStream: validates the whole request (constraints, then what Sluice supports)
 * before storing anything, then stores the stream ACTIVE at version 1.
 *
 * Answers `{"DeliveryStreamARN": …}`.
 */
export const createDeliveryStream: OperationHandler = async (input, ctx) => {
  const request = parseInput(CreateDeliveryStreamInputSchema, input);
  const def = definitionFromCreateInput(request, ctx.settings, Date.now());
  verifyDestination(def.destination, verifyContextOf(ctx));
  await ctx.registry.create(def);
  ctx.log.info(
    {
      event: 'stream.created',
      stream: def.name,
      destination: def.destination.shape,
      version: def.versionId,
    },
    'stream created',
  );
  return { DeliveryStreamARN: def.arn };
};
