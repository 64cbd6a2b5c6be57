import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { Redactor } from './redact.js';

/** Sluice's logger: JSON lines, one per event, never one per record. */
export type Logger = PinoLogger;

/**
 * Creates the process logger at `level`, writing to stdout through `redactor`: every line is
 * cleaned of credentials (URL user-info, the configured secrets) whatever field or error
 * message they turn up in. Redacting whole lines is affordable because nothing logs per record.
 *
 * @param output - where redacted lines go instead of stdout (tests read the log this way).
 */
export function createLogger(
  level: string,
  redactor: Redactor = new Redactor(),
  // process.stdout writes synchronously to files and pipes on Linux, so a line logged just
  // before process.exit() is not lost.
  output: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const destination: DestinationStream = {
    write: (line: string) => output(redactor.redact(line)),
  };
  return pino({ level, base: { service: 'sluice', pid: process.pid } }, destination);
}
