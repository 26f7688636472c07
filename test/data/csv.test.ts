import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv } from '../../lib/data/csv';
import { ArtstyleError } from '../../lib/util/errors';

describe('parseCsv (RFC 4180)', () => {
  it('reads quoted commas, doubled quotes and line breaks inside quotes', () => {
    const t = parseCsv('a,b,c\n1,"x, y","say ""hi"""\n2,"two\nlines",\n');
    assert.deepEqual(t.header, ['a', 'b', 'c']);
    assert.deepEqual(t.rows, [
      { line: 2, cells: ['1', 'x, y', 'say "hi"'] },
      { line: 3, cells: ['2', 'two\nlines', ''] },
    ]);
  });

  it('drops a BOM, accepts CRLF, skips blank lines, keeps line numbers', () => {
    const t = parseCsv('\ufeffname,genre\r\nA,"B,C"\r\n\r\nD,E\r\n');
    assert.deepEqual(t.header, ['name', 'genre']);
    assert.deepEqual(t.rows, [
      { line: 2, cells: ['A', 'B,C'] },
      { line: 4, cells: ['D', 'E'] },
    ]);
    assert.deepEqual(parseCsv('x\r\n1').rows, [{ line: 2, cells: ['1'] }]);
  });

  it('names the file and line of malformed quoting', () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => parseCsv(text, 'artists.csv'),
        (e: unknown) => e instanceof ArtstyleError && e.code === 'bad-csv' && re.test(e.message),
      );
    bad('a,b\n1,"open\n', /artists.csv: line 2: a quoted field is never closed/);
    bad('a,b\n1,ab"c\n', /line 2: a quote inside an unquoted field/);
    bad('a,b\n1,"ab"c\n', /line 2: text after a closing quote/);
    bad('', /empty/);
  });
});
