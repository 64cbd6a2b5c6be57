import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CompressionFormat } from '../../src/formats/compression.js';

/**
 * Decoders of every compression format that are not Sluice's, for tests to read back what
 * Sluice wrote: Debian's python3 (gzip, zipfile; python-snappy, Google's C++ Snappy, for Snappy
 * blocks), Debian's `unzip` and `zstd`. The Snappy framing format and Hadoop's block framing are
 * parsed in Python here, with the framing format's CRC-32C of every chunk checked.
 * `.ci/run` installs them (python3-snappy, unzip, zstd).
 */

/** Debian's python3, which python3-snappy serves (a version manager's python3 may not). */
export const PYTHON = '/usr/bin/python3';

/** Runs `file` with `args`; its stdout as bytes, or a failure naming the command. */
export function run(file: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr.toString()}`));
        } else resolve(stdout);
      },
    );
  });
}

const PY_GUNZIP =
  'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],"rb").read()))';
/** A ZIP archive's entries as JSON: `[name, compression method, [y, m, d, H, M, S]]` each. */
export const PY_ZIP_ENTRIES = [
  'import zipfile,sys,json',
  'z = zipfile.ZipFile(sys.argv[1])',
  'print(json.dumps([[i.filename, i.compress_type, list(i.date_time)] for i in z.infolist()]))',
].join('\n');
const PY_UNZIP = [
  'import zipfile,sys',
  'z = zipfile.ZipFile(sys.argv[1])',
  'assert z.testzip() is None',
  'infos = z.infolist()',
  'assert len(infos) == 1, [i.filename for i in infos]',
  'sys.stdout.buffer.write(z.read(infos[0]))',
].join('\n');
/**
 * The framing format read as its specification says, in Python: python-snappy 0.5's own stream
 * reader cannot run on Debian 12's Python 3.11 (its CRC function fails with "PY_SSIZE_T_CLEAN
 * macro must be defined"), so chunks are parsed and CRC-32C checked here (a table of the
 * Castagnoli polynomial), and each compressed chunk is decoded by libsnappy.
 */
const PY_SNAPPY_FRAMED = [
  'import snappy,struct,sys',
  'table = []',
  'for n in range(256):',
  '    c = n',
  '    for _ in range(8):',
  '        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1',
  '    table.append(c)',
  'def masked(data):',
  '    c = 0xFFFFFFFF',
  '    for b in data:',
  '        c = table[(c ^ b) & 0xFF] ^ (c >> 8)',
  '    c ^= 0xFFFFFFFF',
  '    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF',
  'data = open(sys.argv[1],"rb").read()',
  'assert data[:10] == b"\\xff\\x06\\x00\\x00sNaPpY", data[:10]',
  'at = 10',
  'out = bytearray()',
  'while at < len(data):',
  '    kind = data[at]; n = int.from_bytes(data[at+1:at+4], "little"); body = data[at+4:at+4+n]; at += 4 + n',
  '    assert len(body) == n, "truncated chunk"',
  '    if kind in (0, 1):',
  '        (crc,) = struct.unpack("<I", body[:4])',
  '        block = snappy.uncompress(bytes(body[4:])) if kind == 0 else body[4:]',
  '        assert len(block) <= 65536, len(block)',
  '        assert masked(block) == crc, "bad CRC"',
  '        out += block',
  '    else:',
  '        assert 0x80 <= kind <= 0xFE, "unskippable chunk %d" % kind',
  'sys.stdout.buffer.write(bytes(out))',
].join('\n');
const PY_HADOOP_SNAPPY = [
  'import snappy,struct,sys',
  'data = open(sys.argv[1],"rb").read()',
  'at = 0',
  'out = bytearray()',
  'while at < len(data):',
  '    (raw,) = struct.unpack(">I", data[at:at+4]); at += 4',
  '    block = bytearray()',
  '    while len(block) < raw:',
  '        (n,) = struct.unpack(">I", data[at:at+4]); at += 4',
  '        block += snappy.uncompress(bytes(data[at:at+n])); at += n',
  '    assert len(block) == raw, (len(block), raw)',
  '    out += block',
  'sys.stdout.buffer.write(bytes(out))',
].join('\n');

/** The body back from `file` in `format`, by the independent decoder. */
export async function decodeIndependently(
  format: CompressionFormat,
  file: string,
): Promise<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return run('cat', [file]);
    case 'GZIP':
      return run(PYTHON, ['-c', PY_GUNZIP, file]);
    case 'ZIP':
      return run(PYTHON, ['-c', PY_UNZIP, file]);
    case 'Snappy':
      return run(PYTHON, ['-c', PY_SNAPPY_FRAMED, file]);
    case 'HADOOP_SNAPPY':
      return run(PYTHON, ['-c', PY_HADOOP_SNAPPY, file]);
    case 'ZSTD':
      return run('zstd', ['-d', '-c', '-q', file]);
  }
}

/** `body` in `format`, decoded by the independent decoder (through a file in `dir`). */
export async function decodeBytesIndependently(
  format: CompressionFormat,
  body: Buffer,
  dir: string,
): Promise<Buffer> {
  const file = join(dir, `body-${format}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, body);
  return decodeIndependently(format, file);
}
