import { describe, expect, it } from 'vitest';
import { appendDelimiter } from '../../src/processors/builtin/append-delimiter.js';
import { ProcessorFailure } from '../../src/processors/builtin/processor-failure.js';

describe('AppendDelimiterToRecord', () => {
  it('ends every record with one newline, binary and empty records included', () => {
    expect(appendDelimiter(Buffer.from('{"a":1}'))).toEqual(Buffer.from('{"a":1}\n'));
    expect(appendDelimiter(Buffer.alloc(0))).toEqual(Buffer.from('\n'));
    expect(appendDelimiter(Buffer.from([0, 255, 10]))).toEqual(Buffer.from([0, 255, 10, 10]));
  });

  it('appends even when the record already ends with a newline', () => {
    expect(appendDelimiter(Buffer.from('line\n'))).toEqual(Buffer.from('line\n\n'));
  });

  it('leaves the input untouched, also when it is a view of a larger buffer', () => {
    const whole = Buffer.from('abcdef');
    const view = whole.subarray(1, 3);
    expect(appendDelimiter(view)).toEqual(Buffer.from('bc\n'));
    expect(whole.toString()).toBe('abcdef');
  });
});

describe('ProcessorFailure', () => {
  it('carries its code, message and error-output type', () => {
    const failure = new ProcessorFailure('X.Code', 'what went wrong', 'decompression-failed');
    expect(failure).toBeInstanceOf(Error);
    expect(failure.name).toBe('ProcessorFailure');
    expect(failure.code).toBe('X.Code');
    expect(failure.message).toBe('what went wrong');
    expect(failure.outputType).toBe('decompression-failed');
  });
});
