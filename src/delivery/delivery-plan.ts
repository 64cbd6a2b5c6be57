import type { DestinationKind, PlanBase } from '../destinations/destination-kind.js';
import { kindByPlanDestination } from '../destinations/registry.js';

/**
 * A batch's delivery plan: everything that decides where and how the batch is written — the
 * identity of every write (an S3 object key, an HTTP request id, where failed records go) —
 * fixed on its first delivery attempt and used unchanged by every retry. A retry after a
 * crash or a lost response then rewrites the very same thing, whatever UpdateDestination did in
 * between. Each kind's plan is a schema (`planSchema`); the plan is stored in the batch's hash
 * as JSON and read back checked.
 */

/** The plan as stored in the batch's hash. */
export function serializeDeliveryPlan(plan: PlanBase): string {
  return JSON.stringify(plan);
}

/** A stored plan read back, with the kind that carries it out. */
export interface ParsedPlan {
  kind: DestinationKind;
  plan: PlanBase;
}

/**
 * Reads a stored plan back.
 *
 * @throws Error when `json` is not a plan this version understands (no retry can fix that).
 */
export function parseDeliveryPlan(json: string): ParsedPlan {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`the stored delivery plan is not JSON: ${String(error)}`, { cause: error });
  }
  const destination =
    value !== null && typeof value === 'object' && 'destination' in value
      ? value.destination
      : undefined;
  const kind = typeof destination === 'string' ? kindByPlanDestination(destination) : undefined;
  if (kind === undefined) {
    throw new Error(
      `the stored delivery plan is for destination ${JSON.stringify(destination)}, which this version does not deliver to`,
    );
  }
  const result = kind.planSchema.safeParse(value);
  if (!result.success) {
    throw new Error(
      `the stored delivery plan is not one this version reads: ${result.error.message}`,
    );
  }
  return { kind, plan: result.data };
}
