/**
 * Bounded capture of one output stream: keeps the first half and the last half of the limit,
 * drops the middle, so memory stays bounded whatever the command prints.
 */
export class OutputCapture {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;

  constructor(limitBytes: number) {
    this.headLimit = Math.ceil(limitBytes / 2);
    this.tailLimit = Math.floor(limitBytes / 2);
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  push(chunk: Buffer): void {
    const room = this.headLimit - this.headBytes;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.head.push(Buffer.from(part));
      this.headBytes += part.length;
      chunk = chunk.subarray(part.length);
    }
    if (chunk.length > 0) this.pushTail(chunk);
  }

  /** The captured text; a marker line shows where bytes were dropped. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (!this.truncated) return head + tail;
    return `${head}\n[... distcron: ${this.dropped} bytes omitted ...]\n${tail}`;
  }

  private pushTail(chunk: Buffer): void {
    if (chunk.length >= this.tailLimit) {
      this.dropped += this.tailBytes + chunk.length - this.tailLimit;
      this.tail = [Buffer.from(chunk.subarray(chunk.length - this.tailLimit))];
      this.tailBytes = this.tailLimit;
      return;
    }
    this.tail.push(Buffer.from(chunk));
    this.tailBytes += chunk.length;
    while (this.tailBytes > this.tailLimit) this.trimTailFront();
  }

  private trimTailFront(): void {
    const excess = this.tailBytes - this.tailLimit;
    const first = this.tail[0]!;
    if (first.length <= excess) {
      this.tail.shift();
      this.tailBytes -= first.length;
      this.dropped += first.length;
    } else {
      this.tail[0] = first.subarray(excess);
      this.tailBytes -= excess;
      this.dropped += excess;
    }
  }
}
