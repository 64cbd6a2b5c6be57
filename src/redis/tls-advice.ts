import { REDIS_TLS_CLOSED_AFTER_HANDSHAKE } from './connect.js';

/**
 * What to do about a failed TLS connection to Redis, when the error says (Node's certificate
 * check codes, OpenSSL's handshake alerts); `undefined` for any other failure.
 */
export function redisTlsAdvice(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return "Fix: set SLUICE_REDIS_TLS_CA to the PEM file of the CA that signed Redis's certificate (Redis's tls-ca-cert-file), or give Redis a certificate from a CA this machine trusts.";
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return "Fix: connect by a name Redis's certificate lists (in SLUICE_REDIS_URL), or set SLUICE_REDIS_TLS_SERVERNAME to one of them.";
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return "Fix: renew Redis's certificate (or check this machine's clock).";
  }
  if (
    code === REDIS_TLS_CLOSED_AFTER_HANDSHAKE ||
    /certificate required|handshake failure/i.test(error.message)
  ) {
    return "Redis probably requires a client certificate (tls-auth-clients yes). Fix: set SLUICE_REDIS_TLS_CERT and SLUICE_REDIS_TLS_KEY to a certificate signed by a CA in Redis's tls-ca-cert-file, and its key.";
  }
  if (
    code === 'ETIMEDOUT' ||
    /wrong version number|packet length too long|before secure TLS connection/i.test(error.message)
  ) {
    // A plain Redis port takes the TLS hello for a half-sent command and waits for the rest.
    return 'Fix: check that Redis serves TLS on that port (its tls-port; a plain port needs redis:// instead) and that it is reachable from here.';
  }
  return undefined;
}

/** Node's codes for a certificate chain that does not lead to a trusted CA. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);
