/**
 * Bounded capture of one output stream: keeps the first half and the last half of the limit,
 * drops the middle, so memory stays bounded whatever the command prints.
 *
 * Output is bytes, the run record wants text. Decoding is lossy on purpose, never throwing:
 * invalid UTF-8 (binary garbage) becomes U+FFFD, and so does NUL, so the text fits any text
 * column (PostgreSQL `text` rejects NUL, see SPEC §15) and any JSON document. Where the middle
 * was dropped, the cut is moved to whole characters so valid UTF-8 output stays valid; the bytes
 * given up for that are counted in the omitted-bytes marker.
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
    // NaN would disable every bound below; treat it as "keep nothing" rather than "keep all".
    const limit = Number.isNaN(limitBytes) ? 0 : Math.max(0, Math.floor(limitBytes));
    this.headLimit = Math.ceil(limit / 2);
    this.tailLimit = Math.floor(limit / 2);
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** Bytes received but not kept (the middle of the stream). */
  get droppedBytes(): number {
    return this.dropped;
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
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    // Not truncated: decode head and tail as one buffer so a character split between them survives.
    if (!this.truncated) return decodeLossy(Buffer.concat([head, tail]));
    const headEnd = completeUtf8Length(head);
    const tailStart = leadingContinuationBytes(tail);
    const omitted = this.dropped + (head.length - headEnd) + tailStart;
    const kept = [decodeLossy(head.subarray(0, headEnd)), decodeLossy(tail.subarray(tailStart))];
    return `${kept[0]}\n[... distcron: ${omitted} bytes omitted ...]\n${kept[1]}`;
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

/** UTF-8 decoding that never throws: invalid sequences and NUL become U+FFFD. */
export function decodeLossy(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\0/g, '\uFFFD');
}

/** Length of `buf` without a multi-byte character that was cut off at its end. */
function completeUtf8Length(buf: Buffer): number {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 4); i--) {
    const byte = buf[i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    return i + utf8SequenceLength(byte) > buf.length ? i : buf.length;
  }
  return buf.length;
}

function utf8SequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** Continuation bytes (at most 3) at the start of `buf`: the rest of a character cut off before it. */
function leadingContinuationBytes(buf: Buffer): number {
  let n = 0;
  while (n < 3 && n < buf.length && (buf[n]! & 0xc0) === 0x80) n++;
  return n;
}
