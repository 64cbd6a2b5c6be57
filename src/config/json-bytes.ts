/**
 * The JSON punctuation bytes, for the readers that scan request bodies as bytes without
 * decoding them (UTF-8 never uses these bytes inside a multi-byte character). Frozen, so the
 * compiler can fold the loads in the scanners' loops into constants.
 */
export const JSON_BYTE = Object.freeze({
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
  COLON: 0x3a,
  COMMA: 0x2c,
  OPEN_BRACE: 0x7b,
  CLOSE_BRACE: 0x7d,
  OPEN_BRACKET: 0x5b,
  CLOSE_BRACKET: 0x5d,
} as const);
