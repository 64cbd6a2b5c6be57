import { z } from 'zod';
import {
  DeliveryStreamEncryptionConfigurationInputSchema,
  DeliveryStreamNameSchema,
} from '../../streams/stream-definition.js';
import { FirehoseError } from '../../errors/catalogue.js';
import type { OperationHandler } from '../context.js';
import { parseInput } from '../../config/validation.js';

/** `StartDeliveryStreamEncryptionInput`. */
export const StartDeliveryStreamEncryptionInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  DeliveryStreamEncryptionConfigurationInput:
    DeliveryStreamEncryptionConfigurationInputSchema.optional(),
});

/** `StopDeliveryStreamEncryptionInput`. */
export const StopDeliveryStreamEncryptionInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
});

function notSupported(operation: string): FirehoseError {
  return new FirehoseError(
    'InvalidArgumentException',
    `${operation}: server-side encryption is not supported by Sluice yet.`,
  );
}

/**
 * StartDeliveryStreamEncryption: Sluice has no server-side encryption yet, so after the usual
 * checks (valid request, existing stream) it answers InvalidArgumentException saying so.
 */
export const startDeliveryStreamEncryption: OperationHandler = async (input, ctx) => {
  const request = parseInput(StartDeliveryStreamEncryptionInputSchema, input);
  await ctx.registry.getExisting(request.DeliveryStreamName);
  throw notSupported('StartDeliveryStreamEncryption');
};

/**
 * StopDeliveryStreamEncryption: answers InvalidArgumentException (server-side encryption is
 * not supported yet) once the request is valid and the stream exists.
 */
export const stopDeliveryStreamEncryption: OperationHandler = async (input, ctx) => {
  const request = parseInput(StopDeliveryStreamEncryptionInputSchema, input);
  await ctx.registry.getExisting(request.DeliveryStreamName);
  throw notSupported('StopDeliveryStreamEncryption');
};
