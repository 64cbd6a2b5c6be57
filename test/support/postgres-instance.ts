import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './free-port.js';

const run = promisify(execFile);

/**
 * A private PostgreSQL server for one test file: `initdb` into a temporary directory and
 * `pg_ctl` on a free loopback port, so a test can restart it, stop it or require passwords
 * without touching the shared one. PostgreSQL refuses to run as root, so under root it runs
 * as the `postgres` user (Debian's packages create it).
 */
export interface PostgresInstance {
  readonly host: string;
  readonly port: number;
  /** The superuser (`sluice`) and its password (password authentication). */
  readonly user: string;
  readonly password: string;
  /** Stops the server at once (as a crash would), then starts it again. */
  restart(): Promise<void>;
  /** Stops the server at once. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/** The directory of PostgreSQL's server programs, or undefined when none is installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = config.status === 0 ? config.stdout.trim() : '';
  return dir !== '' && existsSync(join(dir, 'initdb')) ? dir : undefined;
}

/** Starts a private server with password authentication and a `test` database. */
export async function startPostgresInstance(
  password = 'sluice-test-password',
): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error('PostgreSQL is not installed (no initdb): apt-get install postgresql');
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  if (owner !== undefined) {
    await chmod(dir, 0o755);
    await chown(dir, owner.uid, owner.gid);
  }
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`);
  if (owner !== undefined) await chown(pwfile, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const as = async (program: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args];
    return run(file, argv, { timeout: 60_000 });
  };
  await as('initdb', [
    '-D',
    data,
    '-A',
    'scram-sha-256',
    '-U',
    'sluice',
    `--pwfile=${pwfile}`,
    '--no-sync',
  ]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
  const start = () =>
    as('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', 'start']);
  const stop = () => as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  await start();
  let closed = false;
  const instance: PostgresInstance = {
    host: '127.0.0.1',
    port,
    user: 'sluice',
    password,
    async restart() {
      await stop();
      await start();
    },
    async stop() {
      await stop();
    },
    async start() {
      await start();
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return instance;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root, PostgreSQL needs the postgres user to run as; none exists');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
