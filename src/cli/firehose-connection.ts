import type { CliIo } from './command.js';
import { connectAdmin } from './connection-options.js';
import { FirehoseClient } from './firehose-client.js';
import { resolveEndpoint, type Endpoint } from './endpoint.js';
import { signerFromEnv } from './request-signer.js';

/**
 * A Firehose API client for the endpoint and credentials that `--endpoint`, `--region` and
 * the environment name (the `CONNECTION_OPTIONS` the admin commands take too).
 *
 * @throws UsageError as {@link connectAdmin} does: a bad endpoint or region, half a key pair,
 *   or user-info in the URL together with AWS keys.
 */
export function connectFirehose(
  options: { readonly endpoint: string | undefined; readonly region: string | undefined },
  io: CliIo,
): { client: FirehoseClient; endpoint: Endpoint } {
  // Its checks are the ones wanted here too; the admin client it makes is not used.
  connectAdmin(options, io);
  const endpoint = resolveEndpoint(options.endpoint, io.env);
  const signer = signerFromEnv(options.region, io.env);
  return { client: new FirehoseClient({ endpoint, signer }), endpoint };
}
