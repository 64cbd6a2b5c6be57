import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { redisUsesTls, SettingsError, type Settings } from './env.js';

/**
 * TLS material named by the settings: read and checked once at start, so that a wrong path, a
 * file of the wrong kind or a key that belongs to another certificate stops the process with a
 * message naming the setting, instead of surfacing later as a handshake failure at a client.
 *
 * Messages name files, certificate subjects and fingerprints, never file contents: a private
 * key must not end up in a log.
 */

/** The certificate and key the Firehose API serves HTTPS with (Node's `https` server options). */
export interface ApiTls {
  /** The server certificate, then any intermediate certificates, as PEM. */
  cert: Buffer;
  /** The certificate's private key, as PEM. */
  key: Buffer;
}

/** What {@link loadTls} read. */
export interface TlsMaterial {
  /** Set when the API serves HTTPS (`SLUICE_TLS_CERT` and `SLUICE_TLS_KEY`); plain HTTP otherwise. */
  api: ApiTls | undefined;
  /**
   * Options for the TLS connections to Redis, set when `SLUICE_REDIS_URL` is `rediss://`
   * (possibly empty: Node's default trusted CAs and the URL's host then apply).
   */
  redis: ConnectionOptions | undefined;
}

type TlsSettings = Pick<
  Settings,
  | 'SLUICE_TLS_CERT'
  | 'SLUICE_TLS_KEY'
  | 'SLUICE_REDIS_URL'
  | 'SLUICE_REDIS_TLS_CA'
  | 'SLUICE_REDIS_TLS_CERT'
  | 'SLUICE_REDIS_TLS_KEY'
  | 'SLUICE_REDIS_TLS_SERVERNAME'
>;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC |)PRIVATE KEY-----/;
const PEM_ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/**
 * Reads and checks the files the TLS settings name. The settings themselves (pairs set
 * together, Redis TLS settings only with `rediss://`) are already checked by `loadSettings`.
 *
 * @throws SettingsError listing every file that cannot be read or is not what its setting needs.
 */
export function loadTls(settings: TlsSettings): TlsMaterial {
  const problems: string[] = [];
  const files = new PemFiles(problems);

  let api: ApiTls | undefined;
  if (settings.SLUICE_TLS_CERT !== '' && settings.SLUICE_TLS_KEY !== '') {
    const pair = files.keyPair('SLUICE_TLS_CERT', 'SLUICE_TLS_KEY', settings);
    if (pair) api = pair;
  }

  let redis: ConnectionOptions | undefined;
  if (redisUsesTls(settings.SLUICE_REDIS_URL)) {
    redis = {};
    if (settings.SLUICE_REDIS_TLS_CA !== '') {
      const ca = files.certificates('SLUICE_REDIS_TLS_CA', settings.SLUICE_REDIS_TLS_CA);
      if (ca) redis.ca = ca.pem;
    }
    if (settings.SLUICE_REDIS_TLS_CERT !== '' && settings.SLUICE_REDIS_TLS_KEY !== '') {
      const pair = files.keyPair('SLUICE_REDIS_TLS_CERT', 'SLUICE_REDIS_TLS_KEY', settings);
      if (pair) Object.assign(redis, pair);
    }
    if (settings.SLUICE_REDIS_TLS_SERVERNAME !== '') {
      redis.servername = settings.SLUICE_REDIS_TLS_SERVERNAME;
    }
  }

  if (problems.length > 0) throw new SettingsError(problems);
  return { api, redis };
}

/** Reads PEM files for settings, recording each problem instead of stopping at the first. */
class PemFiles {
  constructor(private readonly problems: string[]) {}

  /**
   * A certificate file and the private key file of its first certificate. The key is checked
   * against the certificate, so a mismatch (the most common mistake after a renewal) is found
   * here rather than by every client.
   */
  keyPair(
    certName: 'SLUICE_TLS_CERT' | 'SLUICE_REDIS_TLS_CERT',
    keyName: 'SLUICE_TLS_KEY' | 'SLUICE_REDIS_TLS_KEY',
    settings: TlsSettings,
  ): { cert: Buffer; key: Buffer } | undefined {
    const certPath = settings[certName];
    const keyPath = settings[keyName];
    const certs = this.certificates(certName, certPath);
    const key = this.privateKey(keyName, keyPath);
    if (!certs || !key) return undefined;
    const [leaf] = certs.parsed;
    if (leaf && !leaf.checkPrivateKey(key.object)) {
      const matching = certs.parsed.findIndex((c) => c.checkPrivateKey(key.object));
      this.problems.push(
        matching > 0
          ? `${certName}=${JSON.stringify(certPath)}: the certificate that ${keyName} belongs to (${describe(certs.parsed[matching])}) is not the first in the file. Fix: put it first, followed by its intermediate certificates.`
          : `${keyName}=${JSON.stringify(keyPath)} is not the private key of the certificate in ${certName}=${JSON.stringify(certPath)} (${describe(leaf)}). Fix: point ${keyName} at the key the certificate was issued for (after a renewal, both files change).`,
      );
      return undefined;
    }
    return { cert: certs.pem, key: key.pem };
  }

  /** A file of one or more PEM certificates (a chain, or a CA bundle). */
  certificates(name: string, path: string): { pem: Buffer; parsed: X509Certificate[] } | undefined {
    const pem = this.read(name, path);
    if (pem === undefined) return undefined;
    const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      const looksLikeKey = PEM_PRIVATE_KEY.test(pem.toString('latin1'));
      this.problems.push(
        `${name}=${JSON.stringify(path)} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)${
          looksLikeKey ? '; it holds a private key instead' : ''
        }. Fix: ${
          looksLikeKey
            ? `point ${name} at the certificate file, not the key.`
            : `point ${name} at a PEM certificate file (a DER file converts with: openssl x509 -inform der -in cert.der -out cert.pem).`
        }`,
      );
      return undefined;
    }
    const parsed: X509Certificate[] = [];
    for (const [index, block] of blocks.entries()) {
      try {
        parsed.push(new X509Certificate(block));
      } catch (error) {
        this.problems.push(
          `${name}=${JSON.stringify(path)}: certificate ${index + 1} of ${blocks.length} cannot be parsed (${(error as Error).message}). Fix: replace the file with a valid PEM certificate.`,
        );
        return undefined;
      }
    }
    return { pem, parsed };
  }

  /** A PEM private key, unencrypted (Sluice has no setting for a passphrase). */
  privateKey(name: string, path: string): { pem: Buffer; object: KeyObject } | undefined {
    const pem = this.read(name, path);
    if (pem === undefined) return undefined;
    const text = pem.toString('latin1');
    if (PEM_ENCRYPTED_KEY.test(text)) {
      this.problems.push(
        `${name}=${JSON.stringify(path)} is an encrypted private key. Fix: give Sluice an unencrypted copy readable only by its user (openssl pkey -in encrypted.key -out sluice.key).`,
      );
      return undefined;
    }
    if (!PEM_PRIVATE_KEY.test(text)) {
      const looksLikeCert = text.includes('-----BEGIN CERTIFICATE-----');
      this.problems.push(
        `${name}=${JSON.stringify(path)} holds no PEM private key (no "-----BEGIN PRIVATE KEY-----" block)${
          looksLikeCert ? '; it holds a certificate instead' : ''
        }. Fix: point ${name} at the private key file.`,
      );
      return undefined;
    }
    try {
      return { pem, object: createPrivateKey(pem) };
    } catch {
      // OpenSSL's reason is left out: it says nothing the fix needs, and the key is secret.
      this.problems.push(
        `${name}=${JSON.stringify(path)}: the private key cannot be parsed. Fix: replace the file with a valid PEM private key.`,
      );
      return undefined;
    }
  }

  private read(name: string, path: string): Buffer | undefined {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied for the user Sluice runs as'
            : code === 'EISDIR'
              ? 'it is a directory'
              : (code ?? 'unreadable');
      this.problems.push(
        `${name}=${JSON.stringify(path)} cannot be read: ${why}. Fix: point ${name} at a readable PEM file.`,
      );
      return undefined;
    }
  }
}

/** A certificate's subject and fingerprint, to tell it apart from others in a message. */
function describe(cert: X509Certificate | undefined): string {
  if (!cert) return 'no certificate';
  return `subject ${cert.subject.replaceAll('\n', ', ')}, SHA-256 fingerprint ${cert.fingerprint256}`;
}
