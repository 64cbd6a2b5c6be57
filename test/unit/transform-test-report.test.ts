import { describe, expect, it } from 'vitest';

import {
  contractViolations,
  escapeData,
  renderJsonReport,
  renderTextReport,
  type TransformTestReport,
} from '../../src/cli/transform-test-report.js';

/** How `sluice transform test` shows records (its e2e test runs the whole command). */

describe('escapeData', () => {
  it('shows UTF-8 as text, with backslashes and control characters escaped', () => {
    expect(escapeData(Buffer.from('{"a":"ü ✓"}\n'))).toBe('{"a":"ü ✓"}\\n');
    expect(escapeData(Buffer.from('a\\b\tc\r\u0000\u007f'))).toBe('a\\\\b\\tc\\r\\x00\\x7f');
  });

  it('shows data that is not UTF-8 byte by byte', () => {
    expect(escapeData(Buffer.from([0x41, 0xc3, 0x28, 0x0a, 0xff]))).toBe('A\\xc3(\\n\\xff');
  });
});

describe('the reports', () => {
  const report: TransformTestReport = {
    transform: 'sluice:transform:t',
    file: '/x/t.ts',
    input: 'in.txt',
    records: [
      { line: 1, outcome: { result: 'Ok', data: Buffer.from('a\n'), partitionKeys: { k: 'v' } } },
      { line: 2, outcome: { result: 'Dropped' } },
      {
        line: 4,
        outcome: { result: 'ProcessingFailed', code: 'Lambda.MissingRecordId', message: 'gone' },
      },
      {
        line: 5,
        outcome: {
          result: 'ProcessingFailed',
          code: 'Lambda.ProcessingFailedStatus',
          message: 'no',
        },
      },
    ],
    loadMs: 12.5,
    totalMs: 4,
  };

  it('counts only contract violations as violations', () => {
    expect(contractViolations(report.records)).toEqual({ 'Lambda.MissingRecordId': 1 });
  });

  it('renders text', () => {
    expect(renderTextReport(report)).toBe(
      [
        'Transform  sluice:transform:t  (/x/t.ts)',
        'Records    4 records from in.txt',
        '',
        '#1  Ok',
        '    data: a\\n',
        '    partition keys: {"k":"v"}',
        '#2  Dropped',
        '#4  ProcessingFailed  Lambda.MissingRecordId',
        '    gone',
        '#5  ProcessingFailed  Lambda.ProcessingFailedStatus',
        '    no',
        '',
        'Results              1 Ok, 1 Dropped, 2 ProcessingFailed',
        'Contract violations  Lambda.MissingRecordId 1',
        'Timing               load 12.5 ms, total 4.00 ms, 1.00 ms per record',
        '',
      ].join('\n'),
    );
  });

  it('renders JSON', () => {
    expect(JSON.parse(renderJsonReport(report))).toEqual({
      transform: 'sluice:transform:t',
      file: '/x/t.ts',
      input: 'in.txt',
      records: [
        {
          line: 1,
          recordId: '1',
          result: 'Ok',
          data: 'a\n',
          dataBase64: 'YQo=',
          partitionKeys: { k: 'v' },
        },
        { line: 2, recordId: '2', result: 'Dropped' },
        {
          line: 4,
          recordId: '4',
          result: 'ProcessingFailed',
          errorCode: 'Lambda.MissingRecordId',
          errorMessage: 'gone',
        },
        {
          line: 5,
          recordId: '5',
          result: 'ProcessingFailed',
          errorCode: 'Lambda.ProcessingFailedStatus',
          errorMessage: 'no',
        },
      ],
      results: { Ok: 1, Dropped: 1, ProcessingFailed: 2 },
      contractViolations: { 'Lambda.MissingRecordId': 1 },
      timing: { loadMs: 12.5, totalMs: 4, perRecordMs: 1 },
    });
  });
});
