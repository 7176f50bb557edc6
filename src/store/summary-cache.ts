/** A run summary as the API lists it: the run's id and its JSON (no output). */
export interface CachedSummary {
  id: string;
  json: string;
}

/** Summaries by rowid, and the rowid of each run id (to forget a run by its id). */
class Generation {
  readonly byRowid = new Map<number, CachedSummary>();
  readonly rowidOf = new Map<string, number>();

  add(rowid: number, summary: CachedSummary): void {
    this.byRowid.set(rowid, summary);
    this.rowidOf.set(summary.id, rowid);
  }

  remove(rowid: number): void {
    const summary = this.byRowid.get(rowid);
    if (summary === undefined) return;
    this.byRowid.delete(rowid);
    this.rowidOf.delete(summary.id);
  }
}

/**
 * Summaries of finished runs by SQLite rowid, at most `capacity` of them. A finished run's row
 * does not change, so its summary is served from here instead of being rebuilt by SQLite on every
 * list (json_object costs ~6 µs a row); the store forgets a run whenever it writes or deletes it,
 * and forgets everything when another connection wrote to the file. Keys are rowids because
 * the list queries read them from the same index entries as the ids, as plain numbers.
 *
 * Two generations instead of an exact LRU list: new summaries go to the young one; when it holds
 * half the capacity it becomes the old one and the previous old one is dropped whole. A hit in
 * the old generation moves the summary back to the young one, so a summary used at least once
 * per half a capacity of new ones stays. (Evicting the oldest key of one big Map instead costs
 * a scan over the deleted slots at the Map's start, which grew to milliseconds per page.)
 */
export class RunSummaryCache {
  private young = new Generation();
  private old = new Generation();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.young.byRowid.size + this.old.byRowid.size;
  }

  get(rowid: number): CachedSummary | undefined {
    const summary = this.young.byRowid.get(rowid);
    if (summary !== undefined) return summary;
    const aged = this.old.byRowid.get(rowid);
    if (aged !== undefined) {
      this.old.remove(rowid);
      this.addYoung(rowid, aged);
    }
    return aged;
  }

  /**
   * A run keeps its rowid while it exists (the store forgets runs it deletes, and everything
   * when another connection wrote), so a run is never cached under two rowids.
   */
  put(rowid: number, summary: CachedSummary): void {
    if (this.capacity <= 0) return;
    this.old.remove(rowid);
    this.addYoung(rowid, summary);
  }

  /** The run was written or deleted: its summary, if cached, is no longer trusted. */
  forget(id: string): void {
    for (const generation of [this.young, this.old]) {
      const rowid = generation.rowidOf.get(id);
      if (rowid !== undefined) generation.remove(rowid);
    }
  }

  clear(): void {
    this.young = new Generation();
    this.old = new Generation();
  }

  private addYoung(rowid: number, summary: CachedSummary): void {
    this.young.add(rowid, summary);
    if (this.young.byRowid.size * 2 >= this.capacity) {
      this.old = this.young;
      this.young = new Generation();
    }
  }
}
