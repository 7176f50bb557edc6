/**
 * The remote side of one run. sshd starts the user's shell in a new session (setsid), so that
 * shell's PID is the process group of everything the command starts. The wrapper prints it on
 * stderr's first line, then `exec`s the command (so sshd sees the command's own exit status or
 * signal). Timeout and cancel kill that whole group over a second exec channel: TERM, then
 * KILL after a grace period.
 */
import { buildRemoteCommand, cdCommand } from '../quote.js';
import type { ExecRequest } from '../executor.js';

const PGID_PREFIX = 'DISTCRON_PGID=';
const PGID_LINE = /^DISTCRON_PGID=(\d+)$/;
/** Bytes of stderr to look at for the PGID line before giving up on it. */
const SNIFF_LIMIT = 64;

export function wrapCommand(req: Pick<ExecRequest, 'command' | 'environment' | 'workingDirectory'>): string {
  const inner = buildRemoteCommand(req.command, req.environment);
  const cd = req.workingDirectory !== undefined ? `${cdCommand(req.workingDirectory)} && ` : '';
  return `printf '${PGID_PREFIX}%s\\n' "$$" >&2; ${cd}exec ${inner}`;
}

/** TERM the group, wait up to graceMs for it to go, then KILL whatever is left. */
export function killTreeCommand(pgid: number, graceMs: number): string {
  const steps = Math.max(1, Math.ceil(graceMs / 100));
  return (
    `kill -TERM -${pgid} 2>/dev/null; i=0; ` +
    `while kill -0 -${pgid} 2>/dev/null && [ "$i" -lt ${steps} ]; do sleep 0.1; i=$((i+1)); done; ` +
    `kill -KILL -${pgid} 2>/dev/null; exit 0`
  );
}

/**
 * Takes the PGID line off the front of stderr and passes everything else through. Settles the
 * pgid promise with null when stderr does not start with it (or ends first).
 */
export class PgidSniffer {
  readonly pgid: Promise<number | null>;
  private resolvePgid!: (v: number | null) => void;
  private pending: Buffer | null = Buffer.alloc(0);

  constructor(private readonly pass: (chunk: Buffer) => void) {
    this.pgid = new Promise((resolve) => (this.resolvePgid = resolve));
  }

  push(chunk: Buffer): void {
    if (this.pending === null) return this.pass(chunk);
    const buf = Buffer.concat([this.pending, chunk]);
    const nl = buf.indexOf(0x0a);
    if (nl < 0 && buf.length < SNIFF_LIMIT) {
      this.pending = buf;
      return;
    }
    this.pending = null;
    const match = nl >= 0 ? PGID_LINE.exec(buf.subarray(0, nl).toString('latin1')) : null;
    this.resolvePgid(match ? Number(match[1]) : null);
    const rest = match ? buf.subarray(nl + 1) : buf;
    if (rest.length > 0) this.pass(rest);
  }

  end(): void {
    if (this.pending === null) return;
    const rest = this.pending;
    this.pending = null;
    this.resolvePgid(null);
    if (rest.length > 0) this.pass(rest);
  }
}

/** ssh2 reports "TERM"; runs record signals the way Node does ("SIGTERM"). */
export function signalName(sig: string): string {
  return sig.startsWith('SIG') ? sig : `SIG${sig}`;
}
