/**
 * Importing people from a file (an HR system's CSV export) through /Bulk, in four steps on one page:
 *  1. choose the file (read here, in slices: nothing leaves the browser until Import);
 *  2. map its columns to the attributes this sign-in may write (suggested from the column names), and say how
 *     existing people are matched and how the manager column names managers;
 *  3. a preview of the first rows: what each would do and the problems found here against the schema and the
 *     directory (the server checks every row again when importing);
 *  4. the import (import/run.ts): a progress bar, live counts, Pause/Resume and Cancel, and at the end a CSV of the
 *     failed rows with the server's error for each.
 * Everything goes through the SCIM API with the signed-in token, so nothing is imported that the token could not
 * do by hand.
 */
import { type JsonObject } from '../api';
import { CsvReader, writeCsv } from '../csv';
import { announce, type Child, fill, focusHeading, h } from '../dom';
import { EMPLOYEE_NUMBER, EXTERNAL_ID, loadTargets, MANAGER_TARGET, suggestManagerBy, suggestTarget, suggestUserNameColumn, type Target } from '../import/targets';
import { type ManagerBy, type Mapping, type MatchBy } from '../import/rows';
import { type BulkLimits, Importer, nextTask, type Progress, type RowPlan } from '../import/run';
import { count, errorBox, errorText, loadView, title, type ViewContext } from './common';

/** Rows the preview shows. */
const PREVIEW_ROWS = 10;
/** Records read between two yields while reading the file. */
const READ_SLICE = 1000;
/** Failed rows listed on the page (all of them are in the download). */
const FAILED_SHOWN = 20;

interface Loaded {
  /** The file's name, for the download's. */
  name: string;
  header: string[];
  rows: string[][];
  /** The line each row starts on (the header is line 1). */
  lines: number[];
  delimiter: string;
}

export async function importView(ctx: ViewContext): Promise<void> {
  title('Import people');
  const setup = await loadView(ctx, 'Import people from a file', async () => {
    const [targets, config] = await Promise.all([loadTargets(ctx.session.api, ctx.session.sections), ctx.session.api.get('/ServiceProviderConfig')]);
    const bulk = (config.body.bulk ?? {}) as JsonObject;
    const limits: BulkLimits = {
      maxOperations: typeof bulk.maxOperations === 'number' && bulk.maxOperations > 0 ? bulk.maxOperations : 1000,
      maxPayloadSize: typeof bulk.maxPayloadSize === 'number' && bulk.maxPayloadSize > 0 ? bulk.maxPayloadSize : 1024 * 1024,
    };
    return { targets, limits, supported: bulk.supported !== false };
  });
  if (!setup) return;
  new ImportPage(ctx, setup.targets, setup.limits, setup.supported).render();
}

class ImportPage {
  private file: Loaded | undefined;
  private importer: Importer | undefined;
  private readonly fileStep = h('section', { class: 'section import-step', 'aria-labelledby': 'import-file-h' });
  private readonly mapStep = h('section', { class: 'section import-step', 'aria-labelledby': 'import-map-h', hidden: true });
  private readonly previewStep = h('section', { class: 'section import-step', 'aria-labelledby': 'import-preview-h', hidden: true });
  private readonly runStep = h('section', { class: 'section import-step', 'aria-labelledby': 'import-run-h', hidden: true });
  private previewTimer: number | undefined;
  /** The failed rows' download, released when the page starts over. */
  private downloadUrl: string | undefined;
  /** Bumped by each preview: an older preview's answer is dropped. */
  private previewRound = 0;
  private readonly targetsById: Map<string, Target>;

  constructor(
    private readonly ctx: ViewContext,
    private readonly targets: Target[],
    private readonly limits: BulkLimits,
    private readonly supported: boolean,
  ) {
    this.targetsById = new Map(targets.map((t) => [t.id, t]));
  }

  render(): void {
    if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = undefined;
    const intro = h(
      'p',
      { class: 'muted' },
      'Creates the people of an HR export who are not in the directory yet and updates those who are, through the SCIM API with your sign-in: rows it does not allow fail with the server’s reason. ',
      'An empty cell leaves the value as it is.',
    );
    fill(
      this.ctx.main,
      h('h1', { id: 'page-title', tabindex: -1 }, 'Import people from a file'),
      intro,
      this.supported ? null : h('div', { class: 'alert error', role: 'alert' }, h('p', null, 'This server does not accept Bulk requests, which importing needs.')),
      this.fileStep,
      this.mapStep,
      this.previewStep,
      this.runStep,
    );
    this.renderFileStep();
    focusHeading(document.getElementById('page-title'));
  }

  // 1. The file.

  private renderFileStep(): void {
    const status = h('div', { id: 'import-file-status', 'aria-live': 'polite' });
    const input = h('input', {
      id: 'import-file',
      type: 'file',
      accept: '.csv,text/csv',
      'aria-describedby': 'import-file-hint',
      disabled: !this.supported,
      onchange: () => void this.readFile(input, status),
    });
    fill(
      this.fileStep,
      h('h2', { id: 'import-file-h' }, '1. Choose a file'),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'import-file' }, 'CSV file'),
        input,
        h('small', { id: 'import-file-hint', class: 'hint' }, 'A header row, then one person a row; UTF-8 (with or without BOM); columns separated by commas or semicolons. Nothing in the directory changes until you choose Import.'),
      ),
      status,
    );
  }

  private async readFile(input: HTMLInputElement, status: HTMLElement): Promise<void> {
    const f = input.files?.[0];
    this.file = undefined;
    this.mapStep.hidden = this.previewStep.hidden = this.runStep.hidden = true;
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'import-file-hint');
    if (!f) return status.replaceChildren();
    const fail = (message: string) => {
      status.replaceChildren(h('p', { id: 'import-file-error', class: 'field-error', role: 'alert' }, message));
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'import-file-error import-file-hint');
    };
    status.replaceChildren(h('p', { class: 'muted' }, `Reading ${f.name}…`));
    let text: string;
    try {
      text = await f.text();
    } catch (e) {
      return fail(`The file could not be read: ${errorText(e)}`);
    }
    const reader = new CsvReader(text);
    const records: string[][] = [];
    const lines: number[] = [];
    while (!reader.done) {
      records.push(...reader.read(READ_SLICE));
      lines.push(...reader.startLines);
      // A large file is read a slice at a time, so the page answers meanwhile.
      await nextTask();
    }
    if (!this.ctx.live()) return;
    const header = (records.shift() ?? []).map((c) => c.trim());
    lines.shift();
    if (header.length === 0 || header.every((c) => c === '')) return fail('The file is empty: it needs a header row and a row per person.');
    if (records.length === 0) return fail('The file has a header row but no people.');
    const notes: Child[] = [];
    // A file saved in a legacy code page (Windows-1252) decodes to replacement characters as UTF-8.
    if (text.includes('\ufffd')) notes.push(h('p', null, 'Some characters are not UTF-8 and show as �: save the file as “CSV UTF-8” and choose it again, or names will be imported garbled.'));
    for (const p of reader.problems.slice(0, 3)) notes.push(h('p', null, `Line ${p.line}: ${p.message}.`));
    this.file = { name: f.name, header: header.map((c, i) => c || `Column ${i + 1}`), rows: records, lines, delimiter: reader.delimiter };
    fill(
      status,
      h('p', null, `${f.name}: ${count(records.length)} ${records.length === 1 ? 'row' : 'rows'}, ${header.length} columns, separated by “${reader.delimiter}”.`),
      notes.length > 0 ? h('div', { class: 'alert warning' }, notes) : null,
    );
    announce(`Read ${count(records.length)} rows. Map the columns next.`);
    this.renderMapStep();
  }

  // 2. The mapping.

  private renderMapStep(): void {
    const file = this.file!;
    const suggested = file.header.map((c) => suggestTarget(c, this.targets));
    // A target suggested twice: only its first column keeps it.
    suggested.forEach((id, i) => {
      if (id !== '' && suggested.indexOf(id) !== i) suggested[i] = '';
    });
    const groups = [...new Set(this.targets.map((t) => t.group))];
    const selects: HTMLSelectElement[] = [];
    const rows = file.header.map((column, i) => {
      const thId = `import-col-${i}`;
      const select = h(
        'select',
        { id: `import-map-${i}`, 'aria-labelledby': `${thId} import-map-col`, onchange: () => this.mappingChanged() },
        h('option', { value: '' }, 'Ignore this column'),
        groups.map((g) =>
          h(
            'optgroup',
            { label: g },
            this.targets.filter((t) => t.group === g).map((t) => h('option', { value: t.id, selected: t.id === suggested[i] }, t.label)),
          ),
        ),
      );
      selects.push(select);
      const sample = file.rows.find((r) => (r[i] ?? '').trim() !== '')?.[i] ?? '';
      return h('tr', null, h('th', { scope: 'row', id: thId }, column), h('td', { class: 'sample' }, sample.trim()), h('td', null, select));
    });
    const columnOptions = (selected: number) => [
      h('option', { value: '-1' }, '— none —'),
      file.header.map((c, i) => h('option', { value: String(i), selected: i === selected }, c)),
    ];
    const userNameColumn = suggestUserNameColumn(file.header);
    const userName = h('select', { id: 'import-username', 'aria-describedby': 'import-username-hint', onchange: () => this.mappingChanged() }, columnOptions(userNameColumn));
    const matchBy = h(
      'select',
      { id: 'import-match', 'aria-describedby': 'import-match-hint', onchange: () => this.mappingChanged() },
      h('option', { value: 'userName' }, 'User name'),
      this.targetsById.has(EXTERNAL_ID) ? h('option', { value: 'externalId' }, 'External id') : null,
      this.targetsById.has(EMPLOYEE_NUMBER) ? h('option', { value: 'employeeNumber', selected: suggested.includes(EMPLOYEE_NUMBER) }, 'Employee number') : null,
    );
    const managerColumn = suggested.indexOf(MANAGER_TARGET);
    const managerBy = h(
      'select',
      { id: 'import-manager-by', 'aria-describedby': 'import-manager-by-hint', onchange: () => this.mappingChanged() },
      h('option', { value: 'employeeNumber' }, 'Employee number'),
      h('option', { value: 'userName', selected: managerColumn !== -1 && suggestManagerBy(file.header[managerColumn]!) === 'userName' }, 'User name'),
    );
    const errors = h('div', { id: 'import-map-errors' });
    fill(
      this.mapStep,
      h('h2', { id: 'import-map-h' }, '2. Map the columns'),
      h('p', { class: 'desc' }, 'Each column is imported into the attribute chosen for it, or ignored. The choices are suggested from the column names, and list only what your sign-in may change.'),
      h(
        'div',
        { class: 'table-scroll', role: 'region', 'aria-labelledby': 'import-map-h', tabindex: 0 },
        h(
          'table',
          { class: 'import-map' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'First value'), h('th', { scope: 'col', id: 'import-map-col' }, 'Import into'))),
          h('tbody', null, rows),
        ),
      ),
      h(
        'fieldset',
        null,
        h('legend', null, 'People'),
        h('div', { class: 'field' }, h('label', { for: 'import-username' }, 'User name (sign-in) from column'), userName, h('small', { id: 'import-username-hint', class: 'hint' }, 'Every new person needs one; often the work email.')),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'import-match' }, 'Match existing people by'),
          matchBy,
          h('small', { id: 'import-match-hint', class: 'hint' }, 'A row whose person is found is an update of that person (only what differs is changed); any other row creates a person.'),
        ),
        h(
          'div',
          { class: 'field', id: 'import-manager-field' },
          h('label', { for: 'import-manager-by' }, 'The manager column names the manager by'),
          managerBy,
          h('small', { id: 'import-manager-by-hint', class: 'hint' }, 'The manager’s employee number or user name, in this file or already in the directory.'),
        ),
      ),
      errors,
    );
    this.mapStep.hidden = false;
    this.mapSelects = { selects, userName, matchBy, managerBy, errors };
    this.mappingChanged(true);
  }

  private mapSelects: { selects: HTMLSelectElement[]; userName: HTMLSelectElement; matchBy: HTMLSelectElement; managerBy: HTMLSelectElement; errors: HTMLElement } | undefined;

  /** Reads the mapping from the form; problems with it are shown under it (and stop the import). */
  private readMapping(): { mapping: Mapping; problems: string[] } {
    const m = this.mapSelects!;
    const file = this.file!;
    const columns = m.selects.map((s) => s.value);
    const mapping: Mapping = {
      header: file.header,
      userNameColumn: Number(m.userName.value),
      columns,
      matchBy: m.matchBy.value as MatchBy,
      managerBy: m.managerBy.value as ManagerBy,
    };
    const problems: string[] = [];
    const seen = new Map<string, number>();
    columns.forEach((id, i) => {
      if (id === '') return;
      const first = seen.get(id);
      if (first !== undefined) problems.push(`“${file.header[first]}” and “${file.header[i]}” are both imported as ${this.targetsById.get(id)?.label}: choose one.`);
      else seen.set(id, i);
    });
    if (mapping.matchBy === 'userName' && mapping.userNameColumn < 0) problems.push('People are matched by user name, but no column gives it.');
    if (mapping.matchBy === 'externalId' && !columns.includes(EXTERNAL_ID)) problems.push('People are matched by external id, but no column is imported as External id.');
    if (mapping.matchBy === 'employeeNumber' && !columns.includes(EMPLOYEE_NUMBER)) problems.push('People are matched by employee number, but no column is imported as Employee number.');
    return { mapping, problems };
  }

  private mappingChanged(first = false): void {
    const m = this.mapSelects!;
    const { problems } = this.readMapping();
    document.getElementById('import-manager-field')!.hidden = !m.selects.some((s) => s.value === MANAGER_TARGET);
    fill(
      m.errors,
      problems.length > 0 ? h('div', { class: 'alert error', role: first ? undefined : 'alert' }, problems.map((p) => h('p', null, p))) : null,
    );
    this.previewStep.hidden = false;
    this.runStep.hidden = false;
    // The preview asks the directory; a burst of changes (arrowing through a select) asks once.
    window.clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => void this.preview(), first ? 0 : 400);
    this.renderRunStep(problems);
  }

  // 3. The preview.

  private async preview(): Promise<void> {
    const round = ++this.previewRound;
    const file = this.file!;
    const { mapping } = this.readMapping();
    const body = h('div', { id: 'import-preview-body' }, h('p', { class: 'muted' }, 'Checking the first rows…'));
    fill(
      this.previewStep,
      h('h2', { id: 'import-preview-h' }, `3. Preview of the first ${Math.min(PREVIEW_ROWS, file.rows.length)} rows`),
      h('p', { class: 'desc' }, 'What each row would do, and the problems found here against the schema and the directory. The server checks every row again when importing.'),
      body,
    );
    const importer = new Importer(this.ctx.session.api, file.rows, mapping, this.targets, this.limits);
    importer.lines = file.lines;
    let plans: RowPlan[];
    try {
      await importer.prepare();
      if (round !== this.previewRound || !this.ctx.live()) return;
      const first = Array.from({ length: Math.min(PREVIEW_ROWS, file.rows.length) }, (_, i) => i);
      plans = (await importer.plan(first, () => true)).rows;
    } catch (e) {
      if (round === this.previewRound && this.ctx.live()) body.replaceChildren(errorBox(e));
      return;
    }
    if (round !== this.previewRound || !this.ctx.live()) return;
    // A PATCH path's label: a sub-attribute's own ("Name: given name"), a multi-valued one's without its type.
    const labelOfPath = (path: string) =>
      this.targets.find((t) => t.kind === 'sub' && `${t.top}.${t.sub}` === path)?.label ??
      this.targets.find((t) => t.top === path)?.label.replace(/ \(.*\)$/, '') ??
      (path === 'userName' ? 'User name' : path);
    const lines = plans.map((plan) => {
      const p = importer.preparedRow(plan.index)!;
      const problems = [...p.problems];
      if (plan.action === 'create' && p.userName === undefined) problems.unshift('User name is required for a new person.');
      if (plan.error) problems.unshift(plan.error);
      const givenName = p.values.get('name.givenName');
      const familyName = p.values.get('name.familyName');
      const name = p.values.get('displayName') ?? [givenName, familyName].filter((x) => typeof x === 'string').join(' ');
      const action =
        plan.action === 'create'
          ? 'Create'
          : plan.action === 'update'
            ? `Update: ${[...new Set(plan.changed!.map(labelOfPath))].join(', ')}`
            : plan.action === 'unchanged'
              ? 'Unchanged'
              : 'Not imported';
      return h(
        'tr',
        { class: problems.length > 0 ? 'has-problems' : undefined },
        h('th', { scope: 'row' }, String(importer.lineOf(plan.index))),
        h('td', null, p.userName ?? ''),
        h('td', null, String(name ?? '')),
        h('td', null, action, plan.managerRow !== undefined ? h('span', { class: 'muted' }, `; manager from row ${importer.lineOf(plan.managerRow)} of the file`) : null),
        h('td', null, problems.length > 0 ? h('ul', { class: 'problems' }, problems.map((x) => h('li', null, x))) : h('span', { class: 'muted' }, 'None found')),
      );
    });
    const withProblems = lines.filter((l) => l.classList.contains('has-problems')).length;
    fill(
      body,
      h('p', { id: 'import-preview-summary' }, withProblems === 0 ? 'No problems found in these rows.' : `${withProblems} of these rows have problems.`),
      h(
        'div',
        { class: 'table-scroll', role: 'region', 'aria-labelledby': 'import-preview-h', tabindex: 0 },
        h(
          'table',
          { class: 'import-preview' },
          h('caption', { class: 'visually-hidden' }, 'The first rows of the file and what importing them would do'),
          h(
            'thead',
            null,
            h('tr', null, ['Row', 'User name', 'Name', 'Would', 'Problems'].map((c) => h('th', { scope: 'col' }, c))),
          ),
          h('tbody', null, lines),
        ),
      ),
      this.wholeFile(importer, file.rows.length),
    );
  }

  /**
   * What the schema says of the whole file, beyond the rows shown: values it refuses, and rows without a user name
   * (which can only update people already in the directory). Checked here without asking the server, so it is
   * quick for 10,000 rows; a row's fate is decided when it is imported.
   */
  private wholeFile(importer: Importer, total: number): Child {
    const refused: number[] = [];
    const nameless: number[] = [];
    for (let i = PREVIEW_ROWS; i < total; i++) {
      const p = importer.preparedRow(i);
      if (!p) continue;
      if (p.problems.length > 0) refused.push(importer.lineOf(i));
      if (p.userName === undefined) nameless.push(importer.lineOf(i));
    }
    if (refused.length === 0 && nameless.length === 0) return total > PREVIEW_ROWS ? h('p', { id: 'import-file-check', class: 'muted' }, 'The other rows hold no value the schema refuses.') : null;
    const rows = (list: number[]) => `${list.length === 1 ? 'row' : 'rows'} ${list.slice(0, 5).map(count).join(', ')}${list.length > 5 ? ', …' : ''}`;
    return h(
      'div',
      { id: 'import-file-check', class: 'alert warning' },
      h('p', null, 'Further down the file:'),
      h(
        'ul',
        null,
        refused.length > 0 ? h('li', null, `${count(refused.length)} ${refused.length === 1 ? 'row has a value' : 'rows have values'} the schema refuses (${rows(refused)}): the server will refuse ${refused.length === 1 ? 'it' : 'them'} too.`) : null,
        nameless.length > 0 ? h('li', null, `${count(nameless.length)} ${nameless.length === 1 ? 'row has' : 'rows have'} no user name (${rows(nameless)}): ${nameless.length === 1 ? 'it' : 'they'} can only update people already in the directory.`) : null,
      ),
    );
  }

  // 4. The import.

  private renderRunStep(problems: string[]): void {
    const file = this.file!;
    const start = h(
      'button',
      { type: 'button', id: 'import-start', disabled: problems.length > 0, 'aria-describedby': problems.length > 0 ? 'import-map-errors' : undefined, onclick: () => void this.run() },
      `Import ${count(file.rows.length)} ${file.rows.length === 1 ? 'row' : 'rows'}`,
    );
    fill(this.runStep, h('h2', { id: 'import-run-h' }, '4. Import'), h('div', { class: 'actions' }, start));
  }

  private async run(): Promise<void> {
    const file = this.file!;
    const { mapping, problems } = this.readMapping();
    if (problems.length > 0) return;
    window.clearTimeout(this.previewTimer);
    this.previewRound++;
    // The file and the mapping stay as they were while importing.
    for (const el of this.ctx.main.querySelectorAll<HTMLInputElement | HTMLSelectElement>('#import-file, .import-step select')) el.disabled = true;
    const bar = h('progress', { id: 'import-progress', max: file.rows.length, value: 0, 'aria-describedby': 'import-progress-text' });
    const text = h('p', { id: 'import-progress-text' }, 'Starting…');
    const numbers = {
      created: h('dd', { id: 'import-created' }, '0'),
      updated: h('dd', { id: 'import-updated' }, '0'),
      unchanged: h('dd', { id: 'import-unchanged' }, '0'),
      failed: h('dd', { id: 'import-failed' }, '0'),
    };
    const pause = h('button', { type: 'button', id: 'import-pause', class: 'secondary', onclick: () => this.togglePause(pause) }, 'Pause');
    const cancel = h('button', { type: 'button', id: 'import-cancel', class: 'secondary', onclick: () => this.cancel(cancel, pause) }, 'Cancel');
    const result = h('div', { id: 'import-result' });
    fill(
      this.runStep,
      h('h2', { id: 'import-run-h', tabindex: -1 }, '4. Import'),
      h('div', { class: 'field' }, h('label', { for: 'import-progress' }, 'Progress'), bar, text),
      h(
        'dl',
        { class: 'import-counts' },
        h('div', null, h('dt', null, 'Created'), numbers.created),
        h('div', null, h('dt', null, 'Updated'), numbers.updated),
        h('div', null, h('dt', null, 'Unchanged'), numbers.unchanged),
        h('div', { class: 'failed' }, h('dt', null, 'Failed'), numbers.failed),
      ),
      h('div', { class: 'actions' }, pause, cancel),
      result,
    );
    const started = performance.now();
    const onProgress = (p: Progress) => {
      // The page has moved on (another view, or signed out): the import stops after the running chunk.
      if (!this.ctx.live()) return this.importer?.cancel();
      bar.value = p.done;
      numbers.created.textContent = count(p.created);
      numbers.updated.textContent = count(p.updated);
      numbers.unchanged.textContent = count(p.unchanged);
      numbers.failed.textContent = count(p.failed);
      const rows = `${count(p.done)} of ${count(p.total)} rows done`;
      text.textContent =
        p.phase === 'paused'
          ? `Paused: ${rows}.`
          : p.phase === 'waiting'
            ? `${rows}; the server asked to slow down: going on in ${p.waitSeconds ?? 1} s.`
          : p.phase === 'managers'
            ? `${rows}; setting managers that came later in the file: ${count(p.managersDone)} of ${count(p.managersTotal)}.`
            : `${rows}.`;
    };
    this.importer = new Importer(this.ctx.session.api, file.rows, mapping, this.targets, this.limits, onProgress);
    this.importer.lines = file.lines;
    announce(`Importing ${count(file.rows.length)} rows.`);
    focusHeading(document.getElementById('import-run-h'));
    performance.mark('import-start');
    // Leaving the page (reload, close) mid-import asks first: what was sent stays, the rest would not be.
    const stay = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', stay);
    let end: Progress;
    try {
      end = await this.importer.run();
    } catch (e) {
      window.removeEventListener('beforeunload', stay);
      if (!this.ctx.live()) return;
      result.replaceChildren(errorBox(e));
      pause.disabled = cancel.disabled = true;
      return;
    }
    performance.mark('import-end');
    window.removeEventListener('beforeunload', stay);
    if (!this.ctx.live()) return;
    pause.remove();
    cancel.remove();
    this.showResult(result, end, (performance.now() - started) / 1000);
  }

  private togglePause(button: HTMLButtonElement): void {
    const importer = this.importer!;
    if (importer.isPaused) {
      importer.resume();
      button.textContent = 'Pause';
      announce('Import resumed.');
    } else {
      importer.pause();
      button.textContent = 'Resume';
      announce('Import paused after the running chunk.');
    }
  }

  private cancel(button: HTMLButtonElement, pause: HTMLButtonElement): void {
    this.importer!.cancel();
    button.disabled = true;
    pause.disabled = true;
    button.textContent = 'Cancelling…';
    announce('Cancelling after the running chunk.');
  }

  private showResult(result: HTMLElement, p: Progress, seconds: number): void {
    const importer = this.importer!;
    const file = this.file!;
    const notDone = p.total - p.done;
    const headline =
      p.phase === 'cancelled' ? 'Import cancelled' : p.phase === 'stopped' ? 'Import stopped' : p.failed > 0 ? 'Import finished, with failed rows' : 'Import finished';
    const failedRows: number[] = [];
    importer.outcome.forEach((o, i) => o === 'failed' && failedRows.push(i));
    let download: Child = null;
    if (failedRows.length > 0) {
      // The original columns, the row's line and the server's error: fix the rows and import this file again.
      const csv = writeCsv(
        [['row', ...file.header, 'error'], ...failedRows.map((i) => [importer.lineOf(i), ...file.header.map((_, c) => file.rows[i]![c] ?? ''), importer.errors[i] ?? ''])],
        { delimiter: file.delimiter === ';' ? ';' : ',', bom: true },
      );
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      // The URL lives as long as the page shows the link (render() releases it).
      this.downloadUrl = url;
      const name = `${file.name.replace(/\.csv$/i, '')}-failed.csv`;
      download = h('p', null, h('a', { href: url, download: name, id: 'import-failed-download' }, `Download the ${count(failedRows.length)} failed ${failedRows.length === 1 ? 'row' : 'rows'} (CSV)`));
    }
    const summary = `${count(p.created)} created, ${count(p.updated)} updated, ${count(p.unchanged)} unchanged, ${count(p.failed)} failed${notDone > 0 ? `; ${count(notDone)} not imported` : ''}.`;
    fill(
      result,
      h('h3', { id: 'import-result-h', tabindex: -1 }, headline),
      h('p', { id: 'import-summary' }, summary, h('span', { class: 'muted' }, ` (${seconds.toFixed(1)} s)`)),
      importer.stoppedBy ? h('div', { class: 'alert error', role: 'alert' }, h('p', null, `The server stopped accepting the import: ${importer.stoppedBy}`)) : null,
      p.phase === 'cancelled' && notDone > 0 ? h('p', null, `${count(notDone)} rows were not sent. Importing the file again picks up where this stopped: the rows already imported are then unchanged.`) : null,
      download,
      failedRows.length > 0
        ? h(
            'div',
            { class: 'table-scroll', role: 'region', 'aria-labelledby': 'import-failed-caption', tabindex: 0 },
            h(
              'table',
              { class: 'import-failed' },
              h('caption', { id: 'import-failed-caption' }, failedRows.length > FAILED_SHOWN ? `The first ${FAILED_SHOWN} failed rows` : 'Failed rows'),
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Row'), h('th', { scope: 'col' }, 'Error'))),
              h(
                'tbody',
                null,
                failedRows.slice(0, FAILED_SHOWN).map((i) => h('tr', null, h('th', { scope: 'row' }, String(importer.lineOf(i))), h('td', null, importer.errors[i] ?? ''))),
              ),
            ),
          )
        : null,
      h('div', { class: 'actions' }, h('button', { type: 'button', id: 'import-again', class: 'secondary', onclick: () => this.render() }, 'Import another file'), h('a', { href: '#/users', class: 'button-link' }, 'Go to the directory')),
    );
    announce(`${headline}: ${summary}`);
    focusHeading(document.getElementById('import-result-h'));
  }
}
