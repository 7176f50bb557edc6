/** Binary min-heap of (at, key). Stale entries are skipped by the caller (lazy deletion). */
export class MinHeap<K> {
  private items: { at: number; key: K; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(at: number, key: K): void {
    this.items.push({ at, key, seq: this.seq++ });
    this.up(this.items.length - 1);
  }

  peek(): { at: number; key: K } | undefined {
    return this.items[0];
  }

  pop(): { at: number; key: K } | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top && last && this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }

  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    [this.items[i], this.items[j]] = [this.items[j]!, this.items[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
