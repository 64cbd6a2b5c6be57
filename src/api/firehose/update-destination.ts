import {
  UpdateDestinationInputSchema,
  mergeDestinationUpdate,
  selectDestinationUpdate,
  verifyDestination,
} from '../../streams/stream-definition.js';
import { verifyContextOf, type OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/**
 * UpdateDestination: merges an `ExtendedS3DestinationUpdate` or `S3DestinationUpdate` into the
 * stream's destination (members not named are kept) if `CurrentDeliveryStreamVersionId` is
 * the stream's version, and adds 1 to the version. Every check, including those on the merged
 * destination, runs before anything is written.
 *
 * Answers `{}`.
 */
export const updateDestination: OperationHandler = async (input, ctx) => {
  const request = parseInput(UpdateDestinationInputSchema, input);
  const selected = selectDestinationUpdate(request);
  const outside = verifyContextOf(ctx);
  const updated = await ctx.registry.update(
    request.DeliveryStreamName,
    request.CurrentDeliveryStreamVersionId,
    request.DestinationId,
    (current) => {
      const merged = mergeDestinationUpdate(current.destination, selected);
      verifyDestination(merged, outside);
      return merged;
    },
  );
  ctx.log.info(
    {
      event: 'stream.updated',
      stream: updated.name,
      destination: updated.destination.shape,
      version: updated.versionId,
    },
    'stream destination updated',
  );
  return {};
};
