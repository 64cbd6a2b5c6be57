import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { type Cleanups, tempDir } from './e2e.js';

const run = promisify(execFile);

/** A certificate and its private key, as PEM files. */
export interface CertFiles {
  /** PEM certificate file. */
  cert: string;
  /** PEM private key file (unencrypted). */
  key: string;
}

/** What {@link makeTestCertificates} generated, all as PEM files in one temporary directory. */
export interface TestCertificates {
  /** The directory holding every file; deleted by the cleanups. */
  dir: string;
  /** The private CA's certificate: what a client needs to trust the servers below. */
  ca: string;
  /** The CA's certificate as PEM text, for clients that take the bytes (`https.Agent({ ca })`). */
  caPem: Buffer;
  /**
   * Signed by the CA for `127.0.0.1`, `::1` and `localhost`, usable by a server and as a client
   * certificate (so a TLS Redis helper can also probe a server that requires client
   * certificates).
   */
  server: CertFiles;
  /** Signed by the CA, for TLS clients only (`extendedKeyUsage = clientAuth`). */
  client: CertFiles;
  /** A second, unrelated key: it matches none of the certificates above. */
  otherKey: string;
}

/**
 * Generates, with the `openssl` command-line tool, a private CA and certificates it signed for
 * a server on this machine and for a client, into a fresh temporary directory that `cleanups`
 * deletes. EC P-256 keys: fast to generate, and accepted by Node, OpenSSL (Redis) and Python.
 */
export async function makeTestCertificates(cleanups: Cleanups): Promise<TestCertificates> {
  const dir = await tempDir(cleanups, 'sluice-tls-');
  const path = (name: string) => join(dir, name);
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`, { cause: error });
    }
  };
  const newKey = (file: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);

  await newKey(path('ca.key'));
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    path('ca.key'),
    '-subj',
    '/CN=Sluice test CA',
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    path('ca.pem'),
  );

  const sign = async (name: string, subject: string, extensions: string): Promise<CertFiles> => {
    const files = { cert: path(`${name}.pem`), key: path(`${name}.key`) };
    await newKey(files.key);
    await openssl('req', '-new', '-key', files.key, '-subj', subject, '-out', path(`${name}.csr`));
    await writeFile(path(`${name}.ext`), extensions);
    await openssl(
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path('ca.pem'),
      '-CAkey',
      path('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      path(`${name}.ext`),
      '-out',
      files.cert,
    );
    return files;
  };

  const server = await sign(
    'server',
    '/CN=localhost',
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth, clientAuth',
      'subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost',
      '',
    ].join('\n'),
  );
  const client = await sign(
    'client',
    '/CN=sluice-test-client',
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  await newKey(path('other.key'));

  return {
    dir,
    ca: path('ca.pem'),
    caPem: await readFile(path('ca.pem')),
    server,
    client,
    otherKey: path('other.key'),
  };
}
