import {
  UpdateDestinationInputSchema,
  mergeDestinationUpdate,
  selectDestinationUpdate,
} from '../../streams/stream-definition.js';
import type { OperationHandler } from '../context.js';
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
  await ctx.registry.update(
    request.DeliveryStreamName,
    request.CurrentDeliveryStreamVersionId,
    request.DestinationId,
    (current) => mergeDestinationUpdate(current.destination, selected),
  );
  return {};
};
