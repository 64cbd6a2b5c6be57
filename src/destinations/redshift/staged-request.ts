import type { BuiltRequest } from '../destination-kind.js';
import type { StoredRedshiftDestination } from './config.js';
import type { StagedRedshiftDeliveryPlan } from './plan.js';
import { unframeRecords, type AttemptRecord } from './record-runs.js';
import { credentialsOf, displayTable, type RequestCredentials } from './request.js';

/**
 * The staged path's request: the attempt's records (in runs from the same encode stage as the
 * direct path's, so the ledger key names the same positions), which the sender writes as one
 * object, compressed as the plan says, before the manifest and the COPY.
 */

/** One attempt of a staged batch. `credentials` may hold the password: log `target` only. */
export interface StagedRedshiftRequest extends BuiltRequest {
  /** Tells it from the direct path's request. */
  staged: true;
  plan: StagedRedshiftDeliveryPlan;
  /** The attempt's records, in batch order: the object is their bytes concatenated. */
  records: AttemptRecord[];
  credentials: RequestCredentials;
}

/** The staged builder: the records, and credentials from the stream's destination now. */
export async function buildStagedRedshiftRequest(
  plan: StagedRedshiftDeliveryPlan,
  body: AsyncIterable<Buffer>,
  current: StoredRedshiftDestination | undefined,
): Promise<StagedRedshiftRequest> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece);
  return {
    target: `COPY ${displayTable(plan)} from s3://${plan.bucket}/${plan.manifestKey} on redshift://${plan.host}:${plan.port}/${plan.database}`,
    staged: true,
    plan,
    records: unframeRecords(pieces),
    credentials: credentialsOf(current),
  };
}

/** Whether a request is the staged path's. */
export function isStagedRequest(request: object): request is StagedRedshiftRequest {
  return 'staged' in request && request.staged === true;
}
