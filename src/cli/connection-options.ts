import { AdminClient } from './admin-client.js';
import type { OptionSpecs } from './args.js';
import { UsageError } from './cli-error.js';
import type { CliIo } from './command.js';
import { DEFAULT_ENDPOINT, resolveEndpoint, type Endpoint } from './endpoint.js';
import { DEFAULT_REGION, signerFromEnv } from './request-signer.js';

/**
 * The options every subcommand that talks to Sluice shares, and the client they make: a new
 * subcommand spreads {@link CONNECTION_OPTIONS} into its table and calls {@link connectAdmin}.
 */

/** `--endpoint` and `--region`. */
export const CONNECTION_OPTIONS = {
  endpoint: {
    type: 'string',
    value: '<url>',
    doc: `Sluice's address. Default: $SLUICE_ENDPOINT, else ${DEFAULT_ENDPOINT}.`,
  },
  region: {
    type: 'string',
    value: '<region>',
    doc: `Region requests are signed for, when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set (unsigned otherwise). Default: $AWS_REGION, $AWS_DEFAULT_REGION, $SLUICE_REGION, else ${DEFAULT_REGION}.`,
  },
} as const satisfies OptionSpecs;

/** An admin API client for the endpoint and credentials the options and environment name. */
export function connectAdmin(
  options: { readonly endpoint: string | undefined; readonly region: string | undefined },
  io: CliIo,
): { client: AdminClient; endpoint: Endpoint } {
  const endpoint = resolveEndpoint(options.endpoint, io.env);
  const signer = signerFromEnv(options.region, io.env);
  if (signer !== undefined && endpoint.basicAuthorization !== undefined) {
    // Both would be sent as the Authorization header; silently dropping one would fail later
    // with a less helpful "access denied".
    throw new UsageError(
      `the endpoint ${endpoint.display} has a user name and password, and AWS_ACCESS_KEY_ID is set: both need the Authorization header. Drop the user-info from the URL, or unset the AWS keys`,
    );
  }
  return { client: new AdminClient({ endpoint, signer }), endpoint };
}
