/**
 * The messages a supervisor and its child processes exchange over node's IPC channel. Each
 * carries `sluice` so that nothing else sent on the channel is mistaken for one.
 */

/** Child → supervisor: the child serves (and delivers, by its role); `url` when it serves the API. */
export interface StartedMessage {
  sluice: 'started';
  url?: string;
}

/** Child → supervisor: the child could not start; `message` is for a person, `code` its exit code. */
export interface FailedMessage {
  sluice: 'failed';
  message: string;
  code: number;
}

/** Supervisor → child: shut down in order, as a SIGTERM would. */
export interface StopMessage {
  sluice: 'stop';
}

/** What a child sends. */
export type ChildMessage = StartedMessage | FailedMessage;

/** Whether `value` is a message a child sends. */
export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { sluice?: unknown }).sluice;
  return kind === 'started' || kind === 'failed';
}

/** Whether `value` is the supervisor's stop request. */
export function isStopMessage(value: unknown): value is StopMessage {
  return (
    typeof value === 'object' && value !== null && (value as { sluice?: unknown }).sluice === 'stop'
  );
}
