import { pino, type Logger as PinoLogger } from 'pino';

/** Sluice's logger: JSON lines, one per event, never one per record. */
export type Logger = PinoLogger;

/** Creates the process logger at `level`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'sluice', pid: process.pid } });
}
