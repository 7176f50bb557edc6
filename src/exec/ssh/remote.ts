/**
 * The remote side of one run. sshd starts the user's shell in a new session (setsid), so that
 * shell's PID is the process group of everything the command starts. The wrapper prints it on
 * stderr's first line, then `exec`s the command (so sshd sees the command's own exit status or
 * signal). Timeout and cancel kill that whole group over a second exec channel: TERM, then
 * KILL after a grace period.
 */
import { cdCommand, commandLine, shellQuote } from '../quote.js';
import type { ExecRequest } from '../executor.js';

const PGID_PREFIX = 'DISTCRON_PGID=';
const PGID_LINE = /^DISTCRON_PGID=(\d+)$/;
/** Bytes of stderr to look at for the PGID line before giving up on it. */
const SNIFF_LIMIT = 64;

export function wrapCommand(
  req: Pick<ExecRequest, 'command' | 'environment' | 'workingDirectory'>,
  uploadDir?: string,
): string {
  const scriptPath = uploadDir !== undefined ? `"$d"/${UPLOADED_SCRIPT_NAME}` : undefined;
  const line = commandLine(req.command, req.environment, { inlineEnv: true, scriptPath });
  const cd = req.workingDirectory !== undefined ? `${cdCommand(req.workingDirectory)} && ` : '';
  const checks = line.checks.map((c) => `{ ${c}; } && `).join('');
  const pgid = `printf '${PGID_PREFIX}%s\\n' "$$" >&2; `;
  if (uploadDir === undefined) return `${pgid}${cd}${checks}exec ${line.words}`;
  // The shell stays (no exec) to remove the directory whatever the exit; TERM/HUP/INT end it
  // through the EXIT trap too (after the command, which got the same signal, has gone).
  const cleanup =
    `d=${shellQuote(uploadDir)}; trap 'rm -rf -- "$d"' EXIT; ` +
    `trap 'exit 143' TERM; trap 'exit 129' HUP; trap 'exit 130' INT; `;
  return `${pgid}${cleanup}${cd}${checks}${line.words}`;
}

/** File name of an uploaded script inside its fresh directory. */
export const UPLOADED_SCRIPT_NAME = 'script';

/**
 * TERM the group, wait up to graceMs for it to go, then KILL whatever is left. With `runAs`,
 * the command's processes belong to that user, so the signals also go through `sudo -n -u`
 * (the login user may not signal them). `cleanupDir`: an uploaded script's directory, removed
 * last (the run's own EXIT trap does not run when its shell is KILLed).
 */
export function killTreeCommand(
  pgid: number,
  graceMs: number,
  opts: { runAs?: string; cleanupDir?: string } = {},
): string {
  const steps = Math.max(1, Math.ceil(graceMs / 100));
  const sudoKill = opts.runAs !== undefined ? `sudo -n -u ${shellQuote(opts.runAs)} -- kill` : undefined;
  const send = (sig: string) =>
    `kill -${sig} -${pgid} 2>/dev/null; ` +
    (sudoKill ? `${sudoKill} -${sig} -- -${pgid} >/dev/null 2>&1 </dev/null; ` : '');
  const alive = sudoKill
    ? `{ kill -0 -${pgid} 2>/dev/null || ${sudoKill} -0 -- -${pgid} >/dev/null 2>&1 </dev/null; }`
    : `kill -0 -${pgid} 2>/dev/null`;
  const cleanup = opts.cleanupDir !== undefined ? `rm -rf -- ${shellQuote(opts.cleanupDir)}; ` : '';
  return (
    `${send('TERM')}i=0; ` +
    `while ${alive} && [ "$i" -lt ${steps} ]; do sleep 0.1; i=$((i+1)); done; ` +
    `${send('KILL')}${cleanup}exit 0`
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
