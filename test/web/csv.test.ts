/**
 * web/csv.ts, the page's CSV reader and writer, without a browser (it imports nothing of the DOM): the shapes HR
 * systems and spreadsheets export, read in slices, and the failed-rows file written back safely.
 */
import t from 'tap';
import { CsvReader, csvCell, detectDelimiter, parseCsv, stripBom, writeCsv } from '../../web/csv';

t.test('reading', async (t) => {
  const cases: { name: string; text: string; rows: string[][]; delimiter?: ',' | ';'; problems?: number }[] = [
    { name: 'plain, LF', text: 'a,b,c\n1,2,3\n', rows: [['a', 'b', 'c'], ['1', '2', '3']] },
    { name: 'CRLF', text: 'a,b\r\n1,2\r\n', rows: [['a', 'b'], ['1', '2']] },
    { name: 'lone CR (old Mac)', text: 'a,b\r1,2', rows: [['a', 'b'], ['1', '2']] },
    { name: 'no trailing newline', text: 'a,b\n1,2', rows: [['a', 'b'], ['1', '2']] },
    { name: 'BOM stripped', text: '\ufeffEmployee ID,Name\n7,Ada\n', rows: [['Employee ID', 'Name'], ['7', 'Ada']] },
    { name: 'semicolons detected', text: 'a;b;c\n1;2,5;3\n', rows: [['a', 'b', 'c'], ['1', '2,5', '3']], delimiter: ';' },
    { name: 'quoted commas', text: 'name,title\n"Hopper, Grace","VP, Engineering"\n', rows: [['name', 'title'], ['Hopper, Grace', 'VP, Engineering']] },
    { name: 'doubled quotes', text: 'a,b\n"say ""hi""",x\n', rows: [['a', 'b'], ['say "hi"', 'x']] },
    { name: 'newline inside quotes', text: 'a,b\n"line 1\nline 2",x\r\n"crlf\r\nkept",y\n', rows: [['a', 'b'], ['line 1\nline 2', 'x'], ['crlf\r\nkept', 'y']] },
    { name: 'empty fields', text: 'a,b,c\n,,\n1,,3\n', rows: [['a', 'b', 'c'], ['', '', ''], ['1', '', '3']] },
    { name: 'empty quoted field', text: 'a,b\n"",x\n', rows: [['a', 'b'], ['', 'x']] },
    { name: 'blank lines skipped', text: 'a,b\n\n1,2\n\r\n\n', rows: [['a', 'b'], ['1', '2']] },
    { name: 'trailing delimiter', text: 'a,b,\n1,2,', rows: [['a', 'b', ''], ['1', '2', '']] },
    { name: 'quote inside an unquoted field is literal', text: 'a,b\n5" disk,x\n', rows: [['a', 'b'], ['5" disk', 'x']] },
    { name: 'text after a closing quote is kept', text: 'a,b\n"x"y,z\n', rows: [['a', 'b'], ['xy', 'z']] },
    { name: 'unterminated quote: a problem, the rest kept', text: 'a,b\n"open,x\n', rows: [['a', 'b'], ['open,x\n']], problems: 1 },
    { name: 'semicolon inside quotes in a comma file', text: 'a,"b;c;d"\n1,2\n', rows: [['a', 'b;c;d'], ['1', '2']], delimiter: ',' },
    { name: 'unicode', text: 'name;city\nJosé Müller;Zürich\n李雷;北京\n', rows: [['name', 'city'], ['José Müller', 'Zürich'], ['李雷', '北京']], delimiter: ';' },
    { name: 'empty text', text: '', rows: [] },
    { name: 'only a BOM', text: '\ufeff', rows: [] },
  ];
  for (const c of cases) {
    const out = parseCsv(c.text);
    t.same(out.rows, c.rows, c.name);
    if (c.delimiter) t.equal(out.delimiter, c.delimiter, `${c.name}: delimiter`);
    t.equal(out.problems.length, c.problems ?? 0, `${c.name}: problems`);
  }
});

t.test('the delimiter comes from the header row', async (t) => {
  const cases: [string, ',' | ';'][] = [
    ['Employee ID;First Name;Last Name', ';'],
    ['Employee ID,First Name,Last Name', ','],
    ['"Last, First";Email;Dept', ';'],
    ['"a;b;c",d', ','],
    ['single', ','],
    ['a;b,c;d\n1,2,3,4,5,6,7', ';'],
  ];
  for (const [header, d] of cases) t.equal(detectDelimiter(header), d, header);
  t.equal(stripBom('\ufeffx'), 'x');
  t.equal(stripBom('x\ufeff'), 'x\ufeff', 'only a leading BOM');
});

t.test('read in slices: the same rows, with the line each starts on', async (t) => {
  const lines = ['id;name;note'];
  for (let i = 1; i <= 10_000; i++) lines.push(i % 100 === 0 ? `${i};"Name ${i}";"two\nlines"` : `${i};"Doe; Jane ${i}";plain`);
  const text = `\ufeff${lines.join('\r\n')}\r\n`;
  const reader = new CsvReader(text);
  t.equal(reader.delimiter, ';');
  const rows: string[][] = [];
  const starts: number[] = [];
  let slices = 0;
  let lastFraction = 0;
  while (!reader.done) {
    const slice = reader.read(500);
    rows.push(...slice);
    starts.push(...reader.startLines);
    t.ok(reader.fraction >= lastFraction, 'progress only goes forward');
    lastFraction = reader.fraction;
    slices++;
  }
  t.equal(slices, 21, '10,001 records in slices of 500');
  t.equal(reader.fraction, 1);
  t.equal(rows.length, 10_001);
  t.same(rows[1], ['1', 'Doe; Jane 1', 'plain']);
  t.same(rows[100], ['100', 'Name 100', 'two\nlines']);
  t.same(rows[10_000], ['10000', 'Name 10000', 'two\nlines']);
  t.same(parseCsv(text).rows, rows, 'the same as reading it whole');
  // Each record with a quoted line break pushes the next one down a line.
  t.equal(starts[0], 1);
  t.equal(starts[100], 101);
  t.equal(starts[101], 103, 'the record after a two-line record starts two lines later');
  t.equal(starts[10_000], 10_001 + 99);
});

t.test('writing', async (t) => {
  const cells: [unknown, string][] = [
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    [' padded ', '" padded "'],
    ['', ''],
    [null, ''],
    [undefined, ''],
    [42, '42'],
    [true, 'true'],
    // Formula injection (OWASP): defused with a leading quote.
    ['=1+2', "'=1+2"],
    ['+1 425 555 0100', "'+1 425 555 0100"],
    ['-5', "'-5"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['=HYPERLINK("http://evil","x")', '"\'=HYPERLINK(""http://evil"",""x"")"'],
    ['\t=cmd', "'\t=cmd"],
    ['a=b', 'a=b'],
  ];
  for (const [value, written] of cells) t.equal(csvCell(value as string), written, JSON.stringify(value));
  t.equal(csvCell('a;b', ';'), '"a;b"', 'the delimiter in use is quoted');
  t.equal(csvCell('a;b', ','), 'a;b', 'the other one is not');

  const rows = [
    ['row', 'Name', 'error'],
    [3, 'Hopper, Grace', 'operation 2: userName "x" is already taken'],
    [4, '=evil()', 'two\nlines'],
  ];
  const text = writeCsv(rows, { bom: true });
  t.ok(text.startsWith('\ufeffrow,Name,error\r\n'), 'BOM, header, CRLF');
  t.ok(text.endsWith('\r\n'));
  const back = parseCsv(text).rows;
  t.same(back, [
    ['row', 'Name', 'error'],
    ['3', 'Hopper, Grace', 'operation 2: userName "x" is already taken'],
    ['4', "'=evil()", 'two\nlines'],
  ], 'read back, the formula defused');
  t.same(parseCsv(writeCsv(rows, { delimiter: ';' })).rows[1], ['3', 'Hopper, Grace', 'operation 2: userName "x" is already taken'], 'with semicolons');
  t.equal(writeCsv([]), '', 'nothing to write');
});
