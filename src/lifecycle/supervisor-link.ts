import cluster from 'node:cluster';
import { isStopMessage, type ChildMessage } from './supervision-messages.js';

/**
 * A supervised child's side of the IPC channel to its supervisor (see supervisor.ts): it
 * reports that it started or why it could not, and hears when to stop — by the supervisor's
 * request, or by the channel closing because the supervisor is gone.
 */
export class SupervisorLink {
  /** The link when this process is a supervisor's child, else `undefined`. */
  static ofThisProcess(): SupervisorLink | undefined {
    return cluster.isWorker && process.send !== undefined ? new SupervisorLink() : undefined;
  }

  private constructor() {
    // node's cluster ends a worker at once (exit code 0) when the channel to its primary
    // closes unexpectedly; marking the disconnect as expected leaves that to this process,
    // which drains first (onGone), so a supervisor killed outright loses no work in progress.
    if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
  }

  /** Whether the supervisor can still be told anything. */
  get connected(): boolean {
    return process.connected;
  }

  /** Tells the supervisor this process serves; `url` when it serves the API. */
  started(url: string | undefined): void {
    this.send(url === undefined ? { sluice: 'started' } : { sluice: 'started', url });
  }

  /**
   * Tells the supervisor why this process could not start (the supervisor says it, once).
   *
   * @returns whether the message was handed to the channel; when not, say it yourself.
   */
  failed(message: string, code: number): boolean {
    return this.send({ sluice: 'failed', message, code });
  }

  /** Calls `onStop` when the supervisor asks this process to shut down. */
  onStop(onStop: () => void): void {
    process.on('message', (message) => {
      if (isStopMessage(message)) onStop();
    });
  }

  /** Calls `onGone` when the channel closes: the supervisor has exited, whichever way. */
  onGone(onGone: () => void): void {
    process.once('disconnect', onGone);
  }

  private send(message: ChildMessage): boolean {
    if (!process.connected || process.send === undefined) return false;
    try {
      // A channel that closes meanwhile fails the send asynchronously; nothing to do then.
      process.send(message, undefined, {}, () => undefined);
      return true;
    } catch {
      return false;
    }
  }
}
