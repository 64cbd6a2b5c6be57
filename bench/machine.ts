import { cpus, release, totalmem, type } from 'node:os';

/** This machine in one line for a report: cores, CPU model, memory and operating system. */
export function describeMachine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${type()} ${release()}`;
}
