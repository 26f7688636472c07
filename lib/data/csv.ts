import { ArtstyleError } from '../util/errors';

export interface CsvTable {
  header: string[];
  /** Data rows; `line` is the 1-based line of the file where the row starts (header = line 1). */
  rows: { line: number; cells: string[] }[];
}

/**
 * Parses CSV as RFC 4180 describes it: fields separated by commas, records by CRLF or LF, fields
 * in double quotes may hold commas, line breaks and doubled quotes (`""`). A UTF-8 byte order
 * mark is dropped, blank lines are skipped. An unterminated quoted field or a quote in the middle
 * of an unquoted field is an error naming `file` and the line.
 */
export function parseCsv(text: string, file = 'CSV'): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: { line: number; cells: string[] }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const cells: string[] = [];
    let field = '';
    let endOfRecord = false;
    let blank = true;
    while (!endOfRecord) {
      if (i < n && text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= n)
            throw new ArtstyleError(
              'bad-csv',
              `${file}: line ${startLine}: a quoted field is never closed`,
              `${file}:${startLine}`,
            );
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r')
          throw new ArtstyleError(
            'bad-csv',
            `${file}: line ${line}: text after a closing quote`,
            `${file}:${line}`,
          );
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"')
            throw new ArtstyleError(
              'bad-csv',
              `${file}: line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`,
              `${file}:${line}`,
            );
          field += text[i];
          i++;
        }
        if (field.length > 0) blank = false;
      }
      cells.push(field);
      field = '';
      if (i < n && text[i] === ',') {
        blank = false;
        i++;
      } else {
        if (text[i] === '\r') i++;
        if (text[i] === '\n') i++;
        line++;
        endOfRecord = true;
      }
    }
    if (!blank) records.push({ line: startLine, cells });
  }
  if (records.length === 0)
    throw new ArtstyleError('bad-csv', `${file}: the file is empty (no header row)`, file);
  const [head, ...rows] = records;
  return { header: head!.cells.map((h) => h.trim()), rows };
}
