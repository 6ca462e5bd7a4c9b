/**
 * `npm run import`: an export file (format.ts) into the configured store, exactly: ids, versions, meta, password
 * hashes, sources (in the resource), member pairs and audit entries as the file holds them.
 *
 * - A file is read twice: first to check every line (its shape, the schema's acceptance of each resource) and the
 *   trailer's checksums, so that a truncated, altered or refused file leaves the target untouched; then to write.
 *   A stream (stdin) is read once, each line checked as it comes; a fault found at its end leaves the target
 *   resumable.
 * - The target must be empty, unless `merge` (a resource with the same id keeps the higher version) or the store's
 *   `import` note names this file's export: an import interrupted (a crash, kill -9) is finished by running it
 *   again, storing what is missing and nothing twice (resources by id and version, pairs and entries by key).
 * - Afterwards, unless merging, the target is read back and its checksums compared with the trailer's, less what
 *   was refused.
 */
import type { ResourceSchema } from '../scim/schema';
import type { AuditEntry } from '../scim/audit';
import type { Member } from '../scim/members';
import { membersAttribute } from '../scim/members';
import type { ScimResource, StoredRecord } from '../scim/resource';
import type { Views } from '../scim/view';
import type { CreateItem, Store } from '../store/store';
import {
  AUDIT_KIND,
  Checksum,
  Checksums,
  MEMBERS_KIND,
  memberItem,
  parseLine,
  resourceItem,
  type ExportLine,
  type HeaderLine,
  type ResourceLine,
  type TrailerLine,
} from './format';
import { refusal } from './check';
import { readDirectory } from './export';
import { isEmptyStore, noteCurrentFormat } from '../service/store-format';

/** Resources per batch (one createMany, one getMany). */
const BATCH = 500;
/** Audit entries per restore. */
const AUDIT_BATCH = 500;
/** The store note that marks an import in progress. */
export const IMPORT_NOTE = 'import';

/** A source of the file's lines; called once per pass. */
export type LineSource = () => AsyncIterable<string>;

export interface ImportOptions {
  merge?: boolean;
  /** Whether the source can be read twice (a file): then it is checked whole before anything is written. */
  rereadable: boolean;
  /** With --skip-invalid: told of each refused line instead of stopping there. */
  onRefused?: (line: number, text: string, reason: string) => Promise<void> | void;
  /** The view each resource type stores with its records (none for groups). */
  views: (schema: ResourceSchema) => Views | undefined;
  /** Told as lines are written: done of total (of a stream: resources of the header's counts). */
  onProgress?: (done: number, total: number) => void;
  /** Told of each phase. */
  onPhase?: (phase: 'checking' | 'writing' | 'verifying') => void;
}

export interface ImportResult {
  header: HeaderLine;
  trailer: TrailerLine;
  resumed: boolean;
  created: number;
  /** Merged: the file's version was higher than the target's. */
  replaced: number;
  /** Already stored at the file's version (a resumed import, or a merge). */
  unchanged: number;
  /** Merged: the target's version was higher, and kept. */
  kept: number;
  refused: number;
  members: number;
  audit: number;
  /** Whether the target was read back and its checksums matched (not done when merging). */
  verified: boolean;
}

/** An import that cannot go on: why, and whether the target was written to (then running it again finishes it). */
export class ImportError extends Error {
  constructor(
    message: string,
    readonly targetTouched: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  n: number;
  text: string;
  line: ResourceLine;
}

export class Importer {
  private readonly bySchema = new Map<string, ResourceSchema>();
  private readonly groupSchemas: ResourceSchema[];
  /** Items the target will not hold: refused lines, pairs whose group or member is missing. */
  private readonly skipped = new Checksums();
  private readonly result: Omit<ImportResult, 'header' | 'trailer' | 'verified' | 'resumed'> = {
    created: 0,
    replaced: 0,
    unchanged: 0,
    kept: 0,
    refused: 0,
    members: 0,
    audit: 0,
  };
  private touched = false;

  constructor(
    private readonly store: Store,
    schemas: readonly ResourceSchema[],
    private readonly options: ImportOptions,
  ) {
    for (const s of schemas) this.bySchema.set(s.type.id, s);
    this.groupSchemas = schemas.filter((s) => membersAttribute(s));
  }

  async run(source: LineSource): Promise<ImportResult> {
    let known: { header: HeaderLine; trailer: TrailerLine } | undefined;
    if (this.options.rereadable) {
      this.options.onPhase?.('checking');
      known = await this.check(source);
    }
    this.options.onPhase?.('writing');
    const written = await this.write(source, known?.trailer.lines ?? 0);
    const header = written.header;
    const trailer = written.trailer;
    let verified = false;
    if (!this.options.merge) {
      this.options.onPhase?.('verifying');
      await this.verify(trailer);
      verified = true;
    }
    await this.store.notes.write(IMPORT_NOTE, undefined);
    return { header, trailer, resumed: written.resumed, ...this.result, verified };
  }

  /** Why a parsed line is refused (the schema, an unknown type), or undefined. */
  private refusalOf(line: ExportLine): string | undefined {
    if (line.type !== 'resource') return undefined;
    const schema = this.bySchema.get(line.resourceType);
    if (!schema) return `resource type '${line.resourceType}' is not one this server serves`;
    return refusal(schema, line);
  }

  /** The first pass over a file: every line's shape and acceptance, and the checksums against the trailer. */
  private async check(source: LineSource): Promise<{ header: HeaderLine; trailer: TrailerLine }> {
    const sums = new Checksums();
    const refused: string[] = [];
    let header: HeaderLine | undefined;
    let trailer: TrailerLine | undefined;
    let n = 0;
    for await (const text of source()) {
      n++;
      if (trailer) throw new ImportError(`line ${n}: a line after the trailer (line ${n - 1})`, false);
      const line = parseLine(text, n);
      if (n === 1 && line.type !== 'header') throw new ImportError('line 1: the file does not start with a header', false);
      if (n > 1 && line.type === 'header') throw new ImportError(`line ${n}: a second header`, false);
      if (line.type === 'header') header = line;
      else if (line.type === 'trailer') trailer = line;
      else {
        this.addTo(sums, line);
        const why = this.refusalOf(line);
        if (why !== undefined) {
          if (!this.options.onRefused) refused.push(`line ${n}: ${why}`);
        }
      }
    }
    if (!header) throw new ImportError('the file is empty', false);
    if (!trailer) throw new ImportError(`the file ends at line ${n} without its trailer: it is truncated`, false);
    this.compareFile(sums, trailer, n);
    if (refused.length > 0) {
      throw new ImportError(
        `${refused.length} resource(s) the schema refuses (nothing was written; --skip-invalid stores the rest and writes these lines to a side file):\n  ${refused.slice(0, 10).join('\n  ')}${refused.length > 10 ? `\n  … and ${refused.length - 10} more` : ''}`,
        false,
      );
    }
    return { header, trailer };
  }

  private addTo(sums: Checksums, line: ExportLine): void {
    if (line.type === 'resource') sums.of(line.resourceType).add(resourceItem(line));
    else if (line.type === 'members') for (const m of line.members) sums.of(MEMBERS_KIND).add(memberItem(line.group, m));
    else if (line.type === 'audit') sums.of(AUDIT_KIND).add(line.entry);
  }

  /** The file's own checksums (what was read) against its trailer's. */
  private compareFile(sums: Checksums, trailer: TrailerLine, lines: number): void {
    if (trailer.lines !== lines) throw new ImportError(`the trailer counts ${trailer.lines} lines, the file has ${lines}`, this.touched);
    for (const kind of new Set([...Object.keys(trailer.checksums), ...sums.kinds.keys()])) {
      const read = sums.kinds.get(kind);
      if ((read?.hex() ?? new Checksum().hex()) !== trailer.checksums[kind] || (read?.count ?? 0) !== (trailer.counts[kind] ?? 0)) {
        throw new ImportError(`the ${kind} lines do not match the trailer's checksum (${read?.count ?? 0} read, ${trailer.counts[kind] ?? 0} counted): the file was altered or damaged`, this.touched);
      }
    }
  }

  /** Whether the import may write, resuming an interrupted one or merging; refuses otherwise. */
  private async begin(header: HeaderLine): Promise<boolean> {
    const note = await this.store.notes.read(IMPORT_NOTE);
    const previous = note === undefined ? undefined : (JSON.parse(note) as { id: string; at: string; started: string });
    if (previous && previous.id === header.id) return true;
    if (previous && !this.options.merge) {
      throw new ImportError(
        `this store holds an unfinished import of another export (${previous.id}, taken ${previous.at}, started ${previous.started}): run that import again with its file, or import this one with --merge`,
        false,
      );
    }
    if (!this.options.merge && !(await isEmptyStore(this.store, [...this.bySchema.values()]))) {
      throw new ImportError('the target store is not empty: import into an empty store, or pass --merge (a resource with the same id keeps the higher version)', false);
    }
    // What an import writes is derived by this server: an empty target is in its format.
    if (await isEmptyStore(this.store, [...this.bySchema.values()])) await noteCurrentFormat(this.store);
    await this.store.notes.write(IMPORT_NOTE, JSON.stringify({ id: header.id, at: header.at, started: new Date().toISOString() }));
    return false;
  }

  private async write(source: LineSource, total: number): Promise<{ header: HeaderLine; trailer: TrailerLine; resumed: boolean }> {
    const sums = new Checksums();
    let header: HeaderLine | undefined;
    let trailer: TrailerLine | undefined;
    let resumed = false;
    const pending: Pending[] = [];
    let entries: AuditEntry[] = [];
    let n = 0;
    // A stream's length is not known: its progress counts resources against the header's counts.
    let resourcesSeen = 0;
    let expected = 0;
    const flush = async () => {
      if (pending.length > 0) await this.resources(pending.splice(0));
      if (entries.length > 0) {
        const batch = entries;
        entries = [];
        this.touched = true;
        await this.store.audit.restore(batch);
        this.result.audit += batch.length;
      }
      this.options.onProgress?.(total > 0 ? n : resourcesSeen, total > 0 ? total : expected);
    };
    for await (const text of source()) {
      n++;
      if (trailer) throw new ImportError(`line ${n}: a line after the trailer (line ${n - 1})`, this.touched);
      let line: ExportLine;
      try {
        line = parseLine(text, n);
      } catch (e) {
        throw new ImportError(e instanceof Error ? e.message : String(e), this.touched);
      }
      if (n === 1) {
        if (line.type !== 'header') throw new ImportError('line 1: the file does not start with a header', false);
        header = line;
        expected = Object.values(header.counts).reduce((a, b) => a + b, 0);
        resumed = await this.begin(header);
        continue;
      }
      if (line.type === 'header') throw new ImportError(`line ${n}: a second header`, this.touched);
      if (line.type === 'trailer') {
        trailer = line;
        continue;
      }
      this.addTo(sums, line);
      if (line.type === 'resource') {
        resourcesSeen++;
        if (pending.length > 0 && (pending.length >= BATCH || pending[0]!.line.resourceType !== line.resourceType)) await flush();
        const why = this.refusalOf(line);
        if (why !== undefined) await this.refuse(n, text, why, line);
        else pending.push({ n, text, line });
      } else if (line.type === 'members') {
        await flush();
        await this.members(line.group, line.members);
      } else {
        if (pending.length > 0) await flush();
        entries.push(line.entry);
        if (entries.length >= AUDIT_BATCH) await flush();
      }
    }
    await flush();
    if (!header) throw new ImportError('the file is empty', false);
    if (!trailer) throw new ImportError(`the file ends at line ${n} without its trailer: it is truncated${this.touched ? '; what was read is stored, and running the import again with the whole file finishes it' : ''}`, this.touched);
    // Checked before on a file; a stream is checked now, once read.
    if (!this.options.rereadable) this.compareFile(sums, trailer, n);
    return { header, trailer, resumed };
  }

  /** A line the import does not store: reported to --skip-invalid, or the end of the import. */
  private async refuse(n: number, text: string, reason: string, line?: ResourceLine): Promise<void> {
    if (!this.options.onRefused) {
      throw new ImportError(`line ${n}: ${reason}${this.touched ? '; what was before it is stored (run again with --skip-invalid to store the rest)' : ''}`, this.touched);
    }
    await this.options.onRefused(n, text, reason);
    this.result.refused++;
    if (line) this.skipped.of(line.resourceType).add(resourceItem(line));
  }

  /** A batch of resource lines of one type: created, merged, or found stored already. */
  private async resources(batch: Pending[]): Promise<void> {
    const schema = this.bySchema.get(batch[0]!.line.resourceType)!;
    const views = this.options.views(schema);
    const stored = new Map((await this.store.resources.getMany(schema, batch.map((p) => p.line.id))).map((r) => [r.id, r]));
    const creates: Pending[] = [];
    for (const p of batch) {
      const current = stored.get(p.line.id);
      if (!current) creates.push(p);
      else if (current.version === p.line.version) this.result.unchanged++;
      else if (current.version > p.line.version) {
        this.result.kept++;
        this.skipped.of(schema.type.id).add(resourceItem(p.line));
      } else {
        this.touched = true;
        const outcome = await this.store.resources.replace(schema, { record: this.recordOf(p.line, views), expectedVersion: current.version, current });
        if (outcome !== 'ok') throw new ImportError(`line ${p.n}: resource ${p.line.id} changed in the target while it was imported (${outcome}): stop the server that writes to it`, true);
        this.result.replaced++;
      }
    }
    if (creates.length === 0) return;
    this.touched = true;
    const items: CreateItem[] = creates.map((p) => ({ record: this.recordOf(p.line, views) }));
    const outcomes = await this.store.resources.createMany(schema, items);
    for (let i = 0; i < creates.length; i++) {
      const outcome = outcomes[i];
      if (outcome === 'created') this.result.created++;
      else await this.refuse(creates[i]!.n, creates[i]!.text, typeof outcome === 'object' ? outcome.detail : 'not stored', creates[i]!.line);
    }
  }

  private recordOf(line: ResourceLine, views: Views | undefined): StoredRecord {
    // refusal() checked that the resource has its id, schemas and meta.
    const resource = line.resource as ScimResource;
    const record: StoredRecord = { resourceType: line.resourceType, id: line.id, version: line.version, resource };
    if (line.secrets) record.secrets = line.secrets;
    const view = views?.make(resource);
    if (view !== undefined) record.view = view;
    return record;
  }

  /** A group's pairs, those whose group and member are stored; the others are counted as skipped. */
  private async members(group: string, members: Member[]): Promise<void> {
    let groupFound = false;
    for (const schema of this.groupSchemas) if ((await this.store.resources.getMany(schema, [group])).length > 0) groupFound = true;
    const present = new Set<string>();
    if (groupFound) {
      for (const type of new Set(members.map((m) => m.type))) {
        const schema = this.bySchema.get(type);
        if (!schema) continue;
        const ids = members.filter((m) => m.type === type).map((m) => m.value);
        for (const r of await this.store.resources.getMany(schema, ids)) present.add(r.id);
      }
    }
    const kept = members.filter((m) => present.has(m.value));
    for (const m of members) if (!present.has(m.value)) this.skipped.of(MEMBERS_KIND).add(memberItem(group, m));
    if (kept.length === 0) return;
    this.touched = true;
    await this.store.memberships.restore(group, kept);
    this.result.members += kept.length;
  }

  /** Reads the target back and compares its checksums with the trailer's, less what was not stored. */
  private async verify(trailer: TrailerLine): Promise<void> {
    const target = new Checksums();
    // Every kind the trailer counts is compared, those with no item in the target too.
    for (const kind of [...this.bySchema.keys(), MEMBERS_KIND]) target.of(kind);
    const reader = this.store.reader();
    try {
      await readDirectory(reader, [...this.bySchema.values()], trailer.checksums[AUDIT_KIND] !== undefined, {
        resource: (r) => target.of(r.resourceType).add(resourceItem(r)),
        members: (group, members) => {
          for (const m of members) target.of(MEMBERS_KIND).add(memberItem(group, m));
        },
        audit: (entry) => target.of(AUDIT_KIND).add(entry),
      });
    } finally {
      reader.close();
    }
    const MOD = 1n << 128n;
    for (const kind of new Set([...Object.keys(trailer.checksums), ...target.kinds.keys()])) {
      const skipped = this.skipped.kinds.get(kind);
      const expectedCount = (trailer.counts[kind] ?? 0) - (skipped?.count ?? 0);
      const expected = ((BigInt(`0x${trailer.checksums[kind] ?? '0'}`) - BigInt(`0x${skipped?.hex() ?? '0'}`)) % MOD + MOD) % MOD;
      const got = target.kinds.get(kind);
      if ((got?.count ?? 0) !== expectedCount || BigInt(`0x${got?.hex() ?? '0'}`) !== expected) {
        throw new ImportError(`verification: the target holds ${got?.count ?? 0} ${kind} item(s), the file ${expectedCount} (less what was refused), and their checksums differ: the target was written to during the import, or a store changed a value`, true);
      }
    }
  }
}

