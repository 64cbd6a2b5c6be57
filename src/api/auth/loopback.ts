import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whether the API listening on `host` (`SLUICE_HOST`) is reachable from this machine only:
 * `localhost`, 127.0.0.0/8, `::1` (also as an IPv4-mapped address). Wildcards such as
 * `0.0.0.0` and `::` are not: they listen on every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (isIPv6(name)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name)?.[1];
    return mapped !== undefined
      ? mapped.startsWith('127.')
      : name === '::1' || name === '0:0:0:0:0:0:0:1';
  }
  return false;
}
