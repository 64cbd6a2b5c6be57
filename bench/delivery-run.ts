import type { Child } from '../devtools/children.js';
import { phaseSignal, type BenchContext } from './context.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { ProcessSampler } from './process-sampler.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { StreamStatsSampler } from './stream-stats.js';

/**
 * What the delivery phases (sustained, transform end-to-end) measure around: a fresh Redis and
 * a fresh Sluice (role `all`) delivering to the bench's S3, a client, the stream's counters and
 * every process's CPU and memory, all stopped by {@link DeliveryRun.close}.
 */

/** How often a stream's counters are read. */
export const SAMPLE_PERIOD_MS = 200;

/** The pieces of one delivery run. */
export interface DeliveryRun<Client extends FirehoseHttp = FirehoseHttp> {
  service: SluiceProcess;
  /** Aborted when the bench is interrupted or a process of the run dies. */
  phase: ReturnType<typeof phaseSignal>;
  client: Client;
  sampler: StreamStatsSampler;
  procs: ProcessSampler;
  /** Stops the samplers, the client and the service. */
  close(): Promise<void>;
}

/**
 * Empties the bench's Redis and starts Sluice with `transformsDir` (if any) and a client of
 * `inFlight` connections, ready to sample `stream`.
 *
 * @throws Error when the service does not serve the API (it is stopped first).
 */
export async function startDeliveryRun(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
  options: { inFlight: number; transformsDir?: string },
): Promise<DeliveryRun> {
  return startDeliveryRunWith(ctx, infra, stream, {
    client: (url) => new FirehoseHttp(url, ctx.identity, options.inFlight),
    ...(options.transformsDir === undefined ? {} : { transformsDir: options.transformsDir }),
  });
}

/** A process Sluice delivers to in a run (an endpoint, a cluster): watched and sampled with it. */
export interface DeliveryTarget {
  /** Its name in the CPU and memory figures. */
  name: string;
  child: Child;
}

/**
 * {@link startDeliveryRun} with the client `client` makes for the service's URL and, when given,
 * a `target` process: the run fails when it dies, and its CPU and memory are sampled too.
 *
 * @throws Error when the service does not serve the API (it is stopped first).
 */
export async function startDeliveryRunWith<Client extends FirehoseHttp>(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
  options: { client: (url: string) => Client; target?: DeliveryTarget; transformsDir?: string },
): Promise<DeliveryRun<Client>> {
  await infra.reset();
  const service = await startSluice({
    role: 'all',
    redisUrl: infra.redis.server.url,
    s3Env: infra.s3.sluiceEnv,
    maxBacklogMb: ctx.options.maxBacklogMb,
    ...(options.transformsDir === undefined ? {} : { transformsDir: options.transformsDir }),
  });
  if (service.url === undefined) {
    await service.stop();
    throw new Error(`${service.child.name} does not serve the API`);
  }
  const { target } = options;
  const phase = phaseSignal(ctx.signal, [
    service.child,
    infra.redis.server.child,
    ...(target === undefined ? [] : [target.child]),
  ]);
  const client = options.client(service.url);
  // Closing the pool fails requests in flight at once, so an interrupt does not wait them out.
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  const sampler = new StreamStatsSampler(infra.client, stream, SAMPLE_PERIOD_MS);
  const procs = new ProcessSampler(
    new Map([
      [service.child.name, service.child.pid],
      ...(target === undefined ? [] : [[target.name, target.child.pid] as const]),
      ...infra.processes(),
    ]),
  );
  return {
    service,
    phase,
    client,
    sampler,
    procs,
    close: async () => {
      sampler.cancel();
      procs.stop();
      phase.dispose();
      client.close();
      await service.stop();
    },
  };
}
