/**
 * Running an import through POST /Bulk (RFC 7644 §3.7), a chunk of rows at a time, with the signed-in token: the
 * server decides every operation as it would the same request made alone, so a token that may not create users
 * (an HR feed's, `scim:write:jobInfo`) gets its refused rows back as failed rows with the server's error.
 *
 * Each chunk: the chunk's people are looked up first (a filter per piece of ~100 keys: `userName eq "a" or …`,
 * within the server's bounds on a filter), then one Bulk request holds a POST for each new person (with a bulkId)
 * and a PATCH of only the changed attributes for each existing one; a row whose values are all already there is
 * counted unchanged and not sent. Managers: the rows are imported managers first (by their depth in the file's
 * own org chart, in file order otherwise), so that a manager is in the directory already, or imported by an
 * earlier chunk (by id), or created in the same chunk (a `bulkId:` reference, which the server resolves), even
 * when the file lists them after their reports. Only what that order cannot place (a reporting cycle in the file)
 * waits for a second pass of PATCHes once everyone exists. Setting the managers in the first pass matters: a
 * PATCH is its own write on the server, where POSTs are stored together (service/bulk.ts), and a second pass for
 * half of 10,000 rows took longer than creating them all.
 *
 * The page stays responsive: the rows are prepared in slices with a yield between them, every chunk ends with a
 * yield, and the waits are for the network. Pause holds before the next chunk; Cancel stops after the running one.
 */
import { type Api, ApiError, type Json, type JsonObject, type ListResponse, literal, PATCH_OP } from '../api';
import { valueOf } from '../schema';
import { errorText } from '../views/common';
import { changes, createBody, KEY_ATTRIBUTE, keyOf, managerOf, type Mapping, type PatchOperation, prepare, type Prepared, setManager } from './rows';
import { MANAGER_TARGET, type Target } from './targets';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
/** Rows per chunk, at most: progress moves often enough, and Pause and Cancel take effect soon enough. */
export const CHUNK_ROWS = 500;
/** Keys per lookup filter: the server counts at most 200 comparisons in a filter (SCIM_MAX_FILTER_NODES). */
const KEYS_PER_FILTER = 100;
/** Characters per lookup filter, below the server's 8,192 (SCIM_MAX_FILTER_LENGTH). */
const FILTER_CHARS = 6000;
/** Rows prepared between two yields. */
const PREPARE_SLICE = 1000;
/** Tries of a request the server turns away for now (429 Too Many Requests, 503 while it restarts). */
const TRIES = 8;
/** The longest wait between two tries, in seconds, whatever Retry-After says. */
const MAX_WAIT = 60;

export interface BulkLimits {
  maxOperations: number;
  maxPayloadSize: number;
}

export type Outcome = 'created' | 'updated' | 'unchanged' | 'failed';

export interface Progress {
  phase: 'preparing' | 'importing' | 'managers' | 'paused' | 'waiting' | 'done' | 'cancelled' | 'stopped';
  /** Rows decided (any outcome), of `total`. */
  done: number;
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** The second pass: managers set, of those that waited for it. */
  managersDone: number;
  managersTotal: number;
  /** While `waiting`: the seconds until the next try. */
  waitSeconds?: number;
}

/** What one row would do: the preview's lines, and what a chunk sends. */
export interface RowPlan {
  index: number;
  action: 'create' | 'update' | 'unchanged' | 'fail';
  /** The top-level paths a PATCH changes. */
  changed?: string[];
  /** Why the row fails before anything is sent. */
  error?: string;
  /** The manager is set by the second pass (it comes later in the file). */
  managerLater?: boolean;
  /** The row of the file the manager is imported from, when not already in the directory. */
  managerRow?: number;
}

interface ChunkPlan {
  rows: RowPlan[];
  operations: JsonObject[];
  /** The row of each operation. */
  opRows: number[];
  /** Rows whose manager the second pass sets. */
  deferred: number[];
  /** Existing people found, by row. */
  existing: Map<number, JsonObject>;
}

/** Gives the browser its turn: rendering, input, other tasks. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Splits keys into filters the server accepts: `attr eq "a" or attr eq "b" …`. */
export function filterPieces(attr: string, keys: readonly string[]): string[] {
  const out: string[] = [];
  let terms: string[] = [];
  let length = 0;
  for (const key of keys) {
    const term = `${attr} eq ${literal(key)}`;
    if (terms.length > 0 && (terms.length >= KEYS_PER_FILTER || length + term.length + 4 > FILTER_CHARS)) {
      out.push(terms.join(' or '));
      terms = [];
      length = 0;
    }
    terms.push(term);
    length += term.length + 4;
  }
  if (terms.length > 0) out.push(terms.join(' or '));
  return out;
}

/** "operation 3: userName … taken" -> "userName … taken": the operation's number means nothing to the reader. */
function detailOf(response: Json | undefined, status: string): string {
  const r = response !== null && typeof response === 'object' && !Array.isArray(response) ? response : {};
  const detail = typeof r.detail === 'string' ? r.detail.replace(/^operation \d+: /, '') : `HTTP ${status}`;
  return detail;
}

export class Importer {
  readonly outcome: (Outcome | undefined)[];
  readonly errors: (string | undefined)[];
  readonly progress: Progress;
  private prepared: Prepared[] = [];
  /** A person's id by the key others name them by as manager (lower case), from the directory or this import. */
  private readonly ids = new Map<string, string>();
  /** Manager keys looked up in the directory already (found or not), and those more than one person has. */
  private readonly lookedUp = new Set<string>();
  private readonly ambiguous = new Map<string, number>();
  /** The first row of the file each manager key names. */
  private readonly fileIndex = new Map<string, number>();
  private readonly rowIds: (string | undefined)[];
  private readonly currentManager: (string | undefined)[];
  private readonly deferred: number[] = [];
  /** The rows in the order they are imported (managers first), and each row's place in it. */
  private order: number[] = [];
  private position: Int32Array = new Int32Array(0);
  private readonly targetsById: Map<string, Target>;
  private readonly managerTarget: Target | undefined;
  private paused = false;
  private resumeGate: (() => void) | undefined;
  private cancelled = false;
  /** Why the run stopped by itself (the token was refused). */
  stoppedBy: string | undefined;

  constructor(
    private readonly api: Api,
    private readonly rows: readonly string[][],
    private readonly mapping: Mapping,
    targets: readonly Target[],
    private readonly limits: BulkLimits,
    private readonly onProgress: (p: Progress) => void = () => undefined,
  ) {
    this.targetsById = new Map(targets.map((t) => [t.id, t]));
    this.managerTarget = this.targetsById.get(MANAGER_TARGET);
    this.outcome = new Array<Outcome | undefined>(rows.length);
    this.errors = new Array<string | undefined>(rows.length);
    this.rowIds = new Array<string | undefined>(rows.length);
    this.currentManager = new Array<string | undefined>(rows.length);
    this.progress = { phase: 'preparing', done: 0, total: rows.length, created: 0, updated: 0, unchanged: 0, failed: 0, managersDone: 0, managersTotal: 0 };
  }

  /** Reads every row's values, a slice at a time, and indexes the rows by the key managers are named by. */
  async prepare(): Promise<void> {
    for (let i = 0; i < this.rows.length; i += PREPARE_SLICE) {
      for (let j = i; j < Math.min(i + PREPARE_SLICE, this.rows.length); j++) {
        const p = prepare(this.rows[j]!, j, this.mapping, this.targetsById);
        this.prepared.push(p);
        if (p.ownManagerKey !== undefined && !this.fileIndex.has(keyOf(p.ownManagerKey))) this.fileIndex.set(keyOf(p.ownManagerKey), j);
      }
      await nextTask();
    }
    this.orderByDepth();
  }

  /**
   * Managers before their reports: each row's depth in the file's org chart (0: a manager not in the file, or
   * none), then file order. Iterative, so that a chain of 10,000 does not overflow the stack; a row on a cycle
   * ends the walk where the cycle closes (the server refuses the cycle whatever the order).
   */
  private orderByDepth(): void {
    const n = this.prepared.length;
    const depth = new Int32Array(n).fill(-1);
    const onPath = new Uint8Array(n);
    const managerRow = (i: number): number | undefined => {
      const key = this.prepared[i]!.managerKey;
      const m = key === undefined ? undefined : this.fileIndex.get(keyOf(key));
      return m === i ? undefined : m;
    };
    for (let start = 0; start < n; start++) {
      if (depth[start]! >= 0) continue;
      const path: number[] = [];
      let i: number | undefined = start;
      while (i !== undefined && depth[i]! < 0 && !onPath[i]) {
        onPath[i] = 1;
        path.push(i);
        i = managerRow(i);
      }
      let d = i !== undefined && depth[i]! >= 0 ? depth[i]! + 1 : 0;
      for (let k = path.length - 1; k >= 0; k--) {
        depth[path[k]!] = d++;
        onPath[path[k]!] = 0;
      }
    }
    this.order = Array.from({ length: n }, (_, i) => i).sort((a, b) => depth[a]! - depth[b]! || a - b);
    this.position = new Int32Array(n);
    this.order.forEach((row, at) => (this.position[row] = at));
  }

  preparedRow(i: number): Prepared | undefined {
    return this.prepared[i];
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.resumeGate?.();
  }

  /** Stops after the running chunk (and before the second pass). */
  cancel(): void {
    this.cancelled = true;
    this.resumeGate?.();
    this.wake?.();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Holds while paused; false once cancelled. */
  private async gate(): Promise<boolean> {
    while (this.paused && !this.cancelled) {
      this.report('paused');
      await new Promise<void>((resolve) => (this.resumeGate = resolve));
      this.resumeGate = undefined;
    }
    return !this.cancelled && this.stoppedBy === undefined;
  }

  private report(phase: Progress['phase']): void {
    this.progress.phase = phase;
    this.onProgress({ ...this.progress });
  }

  /**
   * A request, tried again when the server turns it away for now: a 429 (the caller's rate limit: SCIM_RATE_LIMIT)
   * or a 503 is answered before anything is done, so sending it again does nothing twice. Waits what Retry-After
   * says, else 1, 2, 4 … s; Cancel ends the wait.
   */
  private async send<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!(e instanceof ApiError) || (e.status !== 429 && e.status !== 503) || attempt >= TRIES || this.cancelled) throw e;
        const seconds = Math.min(MAX_WAIT, Math.max(1, e.retryAfter ?? 2 ** (attempt - 1)));
        const phase = this.progress.phase;
        this.progress.waitSeconds = seconds;
        this.report('waiting');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, seconds * 1000);
          this.wake = () => (clearTimeout(timer), resolve());
        });
        this.wake = undefined;
        this.progress.waitSeconds = undefined;
        this.report(phase);
        if (this.cancelled) throw e;
      }
    }
  }

  /** Ends a wait between tries (on Cancel). */
  private wake: (() => void) | undefined;

  /** People in the directory whose `attr` is one of `keys`, by key (lower case); more than one for a shared key. */
  async find(attr: string, keys: readonly string[], attributes?: string): Promise<Map<string, JsonObject[]>> {
    const out = new Map<string, JsonObject[]>();
    for (const filter of filterPieces(attr, keys)) {
      const { body } = await this.send(() => this.api.get<ListResponse>('/Users', { filter, count: 1000, attributes }));
      for (const user of body.Resources ?? []) {
        const v = valueOf(user, attr);
        if (typeof v !== 'string') continue;
        const list = out.get(keyOf(v)) ?? [];
        list.push(user);
        out.set(keyOf(v), list);
      }
    }
    return out;
  }

  /**
   * What the rows `indices` would do, with the lookups it takes; nothing is sent and nothing recorded but what was
   * learnt of the directory (who exists). `later(row)`: whether a row outside these is imported after them. The
   * preview shows it; `run` sends it.
   */
  async plan(indices: readonly number[], later: (row: number) => boolean): Promise<ChunkPlan> {
    const chunk = indices.map((i) => this.prepared[i]!);
    const inChunk = new Set(indices);
    const by = this.mapping.matchBy;
    const matchKeys = [...new Set(chunk.flatMap((p) => (p.matchKey !== undefined ? [p.matchKey] : [])))];
    const found = await this.find(KEY_ATTRIBUTE[by], matchKeys);
    const rows = new Map<number, RowPlan>();
    const existing = new Map<number, JsonObject>();
    const managerBy = this.mapping.managerBy;
    for (const p of chunk) {
      const list = p.matchKey !== undefined ? (found.get(keyOf(p.matchKey)) ?? []) : [];
      if (list.length > 1) {
        rows.set(p.index, { index: p.index, action: 'fail', error: `${list.length} people in the directory have ${KEY_ATTRIBUTE[by]} “${p.matchKey}”: which of them this row is cannot be told` });
        continue;
      }
      if (list[0]) {
        existing.set(p.index, list[0]);
        // Matched by something else, the key managers are named by is the directory's.
        const own = managerBy === by ? p.matchKey : (p.ownManagerKey ?? (valueOf(list[0], KEY_ATTRIBUTE[managerBy]) as string | undefined));
        if (own !== undefined) this.ids.set(keyOf(own), String(list[0].id));
      }
    }
    // Managers neither imported yet nor seen: looked up once each, by the key the file names them by.
    const wanted = [...new Set(chunk.flatMap((p) => (p.managerKey !== undefined && !this.ids.has(keyOf(p.managerKey)) && !this.lookedUp.has(keyOf(p.managerKey)) ? [p.managerKey] : [])))];
    if (wanted.length > 0 && this.managerTarget) {
      const managers = await this.find(KEY_ATTRIBUTE[managerBy], wanted, KEY_ATTRIBUTE[managerBy]);
      for (const key of wanted) {
        const k = keyOf(key);
        this.lookedUp.add(k);
        const list = managers.get(k) ?? [];
        if (list.length > 1) this.ambiguous.set(k, list.length);
        else if (list[0]) this.ids.set(k, String(list[0].id));
      }
    }
    const operations: JsonObject[] = [];
    const opRows: number[] = [];
    const deferred: number[] = [];
    const bulkIdOf = (i: number) => `row${i + 1}`;
    const creates = (i: number) => inChunk.has(i) && !existing.has(i) && rows.get(i)?.action !== 'fail';
    /** Where a row's manager comes from, or why it cannot be had. */
    const resolve = (p: Prepared): { manager?: string; later?: boolean; error?: string; row?: number } => {
      if (p.managerKey === undefined || !this.managerTarget) return {};
      const k = keyOf(p.managerKey);
      const row = this.fileIndex.get(k);
      const what = `manager “${p.managerKey}” (by ${managerBy === 'userName' ? 'user name' : 'employee number'})`;
      if (this.ambiguous.has(k)) return { error: `${this.ambiguous.get(k)} people in the directory are the ${what}` };
      if (this.ids.has(k)) return { manager: this.ids.get(k) };
      if (row !== undefined && creates(row)) return { manager: `bulkId:${bulkIdOf(row)}`, row };
      if (row !== undefined && !inChunk.has(row) && later(row)) return { later: true, row };
      if (row !== undefined) return { error: `the ${what} (row ${this.lineOf(row)}) was not imported${this.errors[row] ? `: ${this.errors[row]}` : rows.get(row)?.error ? `: ${rows.get(row)!.error}` : ''}` };
      return { error: `the ${what} is in neither the file nor the directory` };
    };
    // A row that fails here takes its reports in this chunk with it (they would name a POST that is not sent), so
    // this goes round until no more rows fail: a chain of reports is as long as the org chart is deep.
    for (let failing = true; failing; ) {
      failing = false;
      for (const p of chunk) {
        if (rows.get(p.index)?.action === 'fail') continue;
        const { error } = resolve(p);
        if (error === undefined) continue;
        rows.set(p.index, { index: p.index, action: 'fail', error });
        failing = true;
      }
    }
    for (const p of chunk) {
      if (rows.get(p.index)?.action === 'fail') continue;
      const { manager, later = false, row: managerRow } = resolve(p);
      const current = existing.get(p.index);
      if (current) {
        const ops: PatchOperation[] = changes(p, current, this.targetsById);
        if (manager !== undefined && manager !== managerOf(current, this.managerTarget)) ops.push({ op: 'replace', path: MANAGER_TARGET, value: { value: manager } });
        if (ops.length === 0) {
          rows.set(p.index, { index: p.index, action: 'unchanged', managerLater: later, managerRow });
        } else {
          rows.set(p.index, { index: p.index, action: 'update', changed: [...new Set(ops.map((o) => o.path))], managerLater: later, managerRow });
          operations.push({ method: 'PATCH', path: `/Users/${encodeURIComponent(String(current.id))}`, data: { schemas: [PATCH_OP], Operations: ops as unknown as Json[] } });
          opRows.push(p.index);
        }
      } else {
        const body = createBody(p, this.targetsById);
        if (manager !== undefined) setManager(body, manager, this.managerTarget);
        rows.set(p.index, { index: p.index, action: 'create', managerLater: later, managerRow });
        operations.push({ method: 'POST', path: '/Users', bulkId: bulkIdOf(p.index), data: body });
        opRows.push(p.index);
      }
      if (later) deferred.push(p.index);
    }
    return { rows: chunk.map((p) => rows.get(p.index)!), operations, opRows, deferred, existing };
  }

  /** The row's line in the file, as a spreadsheet numbers it (the header is 1); `lines` maps when records span lines. */
  lineOf(index: number): number {
    return this.lines?.[index] ?? index + 2;
  }

  /** The file line each row starts on, when known. */
  lines: readonly number[] | undefined;

  private settle(index: number, outcome: Outcome, error?: string): void {
    const before = this.outcome[index];
    if (before) this.progress[before]--;
    else this.progress.done++;
    this.outcome[index] = outcome;
    this.progress[outcome]++;
    this.errors[index] = error;
  }

  /** Runs the import to its end, or until cancelled. */
  async run(): Promise<Progress> {
    if (this.prepared.length < this.rows.length) await this.prepare();
    const size = Math.max(1, Math.min(CHUNK_ROWS, this.limits.maxOperations));
    this.report('importing');
    for (let from = 0; from < this.order.length; from += size) {
      if (!(await this.gate())) {
        // Rows imported already whose manager waited for the second pass are marked by it, which stops at once.
        await this.managers();
        return this.finish();
      }
      await this.chunk(from, Math.min(from + size, this.order.length));
      this.report('importing');
      await nextTask();
    }
    await this.managers();
    return this.finish();
  }

  private finish(): Progress {
    this.report(this.stoppedBy ? 'stopped' : this.cancelled ? 'cancelled' : 'done');
    return { ...this.progress };
  }

  /** One chunk (the rows at `order[from, to)`): planned, sent, and its answers recorded. Split in two when its request would be too large. */
  private async chunk(from: number, to: number): Promise<void> {
    const indices = this.order.slice(from, to);
    let plan: ChunkPlan;
    try {
      plan = await this.plan(indices, (row) => this.position[row]! >= to);
    } catch (e) {
      return this.failAll(indices, e);
    }
    const body = { schemas: [BULK_REQUEST], Operations: plan.operations };
    const bytes = new TextEncoder().encode(JSON.stringify(body)).length;
    if (bytes > this.limits.maxPayloadSize * 0.95 && to - from > 1) {
      const mid = from + Math.floor((to - from) / 2);
      await this.chunk(from, mid);
      await this.chunk(mid, to);
      return;
    }
    for (const r of plan.rows) {
      const current = plan.existing.get(r.index);
      if (current) {
        this.rowIds[r.index] = String(current.id);
        this.currentManager[r.index] = managerOf(current, this.managerTarget);
      }
      if (r.action === 'fail') this.settle(r.index, 'failed', r.error);
      else if (r.action === 'unchanged') this.settle(r.index, 'unchanged');
    }
    this.deferred.push(...plan.deferred);
    if (plan.operations.length === 0) return;
    let results: JsonObject[];
    try {
      const answer = await this.send(() => this.api.request<{ Operations?: JsonObject[] }>('POST', '/Bulk', { body }));
      results = answer.body?.Operations ?? [];
    } catch (e) {
      return this.failAll(plan.opRows, e);
    }
    plan.opRows.forEach((row, i) => {
      const r = results[i];
      const status = typeof r?.status === 'string' ? r.status : String(r?.status ?? '');
      if (!r) {
        this.settle(row, 'failed', 'the server did not run this operation');
        return;
      }
      if (status === '201' || status === '200') {
        const location = typeof r.location === 'string' ? r.location : '';
        const id = decodeURIComponent(location.slice(location.lastIndexOf('/') + 1));
        this.rowIds[row] = id || this.rowIds[row];
        const p = this.prepared[row]!;
        if (p.ownManagerKey !== undefined && this.rowIds[row]) this.ids.set(keyOf(p.ownManagerKey), this.rowIds[row]!);
        this.settle(row, status === '201' ? 'created' : 'updated');
      } else {
        this.settle(row, 'failed', detailOf(r.response, status));
      }
    });
  }

  /** A request refused as a whole: each of its rows fails with that error. A 401 ends the run (the token is gone). */
  private failAll(rows: number[], e: unknown): void {
    // Cancelled while waiting to try again: those rows were not sent, so they are not imported rather than failed.
    if (this.cancelled && e instanceof ApiError && (e.status === 429 || e.status === 503)) return;
    for (const row of rows) this.settle(row, 'failed', errorText(e));
    if (e instanceof ApiError && e.status === 401) this.stoppedBy = errorText(e);
  }

  /** The second pass: the managers that came later in the file than their reports, now that everyone exists. */
  private async managers(): Promise<void> {
    const waiting = this.deferred.filter((i) => this.outcome[i] !== 'failed' && this.rowIds[i] !== undefined);
    this.progress.managersTotal = waiting.length;
    if (waiting.length === 0) return;
    this.report('managers');
    const size = Math.max(1, this.limits.maxOperations);
    for (let at = 0; at < waiting.length; at += size) {
      if (!(await this.gate())) {
        // Stopped half way: the rows still waiting are in the directory without their manager, and say so (the
        // failed-rows file then holds what a second run must finish).
        const why = this.stoppedBy ?? 'the import was cancelled first';
        for (const row of waiting.slice(at)) this.settle(row, 'failed', `${this.outcome[row] === 'created' ? 'created' : 'updated'}, but the manager was not set: ${why}`);
        this.report('managers');
        return;
      }
      const operations: JsonObject[] = [];
      const opRows: number[] = [];
      for (const row of waiting.slice(at, at + size)) {
        const key = keyOf(this.prepared[row]!.managerKey!);
        const id = this.ids.get(key);
        this.progress.managersDone++;
        if (id === undefined) {
          const m = this.fileIndex.get(key)!;
          this.settle(row, 'failed', `${this.outcome[row] === 'created' ? 'created' : 'updated'}, but the manager (row ${this.lineOf(m)}) was not imported: ${this.errors[m] ?? 'it failed'}`);
          continue;
        }
        if (id === this.currentManager[row]) continue;
        operations.push({ method: 'PATCH', path: `/Users/${encodeURIComponent(this.rowIds[row]!)}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: MANAGER_TARGET, value: { value: id } }] } });
        opRows.push(row);
      }
      if (operations.length > 0) {
        try {
          const answer = await this.send(() => this.api.request<{ Operations?: JsonObject[] }>('POST', '/Bulk', { body: { schemas: [BULK_REQUEST], Operations: operations } }));
          const results = answer.body?.Operations ?? [];
          opRows.forEach((row, i) => {
            const r = results[i];
            const status = typeof r?.status === 'string' ? r.status : '';
            if (status === '200') {
              if (this.outcome[row] === 'unchanged') this.settle(row, 'updated');
            } else {
              const was = this.outcome[row] === 'created' ? 'created' : 'updated';
              this.settle(row, 'failed', `${was}, but the manager could not be set: ${r ? detailOf(r.response, status) : 'the server did not run this operation'}`);
            }
          });
        } catch (e) {
          if (this.cancelled && e instanceof ApiError && (e.status === 429 || e.status === 503)) return;
          for (const row of opRows) this.settle(row, 'failed', `the manager could not be set: ${errorText(e)}`);
          if (e instanceof ApiError && e.status === 401) this.stoppedBy = errorText(e);
        }
      }
      this.report('managers');
      await nextTask();
    }
  }
}
