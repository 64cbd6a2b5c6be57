import { describe, expect, it } from 'vitest';
import { toFirehoseError } from '../../src/api/error-reply.js';
import { FirehoseError } from '../../src/errors/catalogue.js';

/** What ioredis throws for an error reply (its ReplyError, typed `any` by ioredis). */
function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('toFirehoseError', () => {
  it('passes Firehose errors through', () => {
    const error = new FirehoseError('ResourceNotFoundException', 'gone');
    expect(toFirehoseError(error, true)).toEqual({ error, unexpected: false });
  });

  it.each([
    ['Redis is not connected', new Error('whatever'), false],
    ['Redis is full', replyError("OOM command not allowed when used memory > 'maxmemory'."), true],
    ['Redis is loading', replyError('LOADING Redis is loading the dataset in memory'), true],
    [
      'Redis cannot persist',
      replyError(
        'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      ),
      true,
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      true,
    ],
    [
      'the offline queue is off',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      true,
    ],
  ])('answers 503 when %s', (_what, thrown, ready) => {
    const { error, unexpected } = toFirehoseError(thrown, ready);
    expect(error.type).toBe('ServiceUnavailableException');
    expect(error.status).toBe(503);
    expect(unexpected).toBe(false);
  });

  it.each([
    [
      'a script error',
      replyError('ERR user_script:1: Script attempted to access nonexistent global variable'),
    ],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('answers 500 InternalFailure, flagged for the log, for %s', (_what, thrown) => {
    const { error, unexpected } = toFirehoseError(thrown, true);
    expect(error.type).toBe('InternalFailure');
    expect(error.status).toBe(500);
    expect(unexpected).toBe(true);
  });
});
