/**
 * Pooled SSH connections per node: one connection shared by all runs; another one only when
 * the server refuses a session channel (OpenSSH MaxSessions), and the extras close sooner when
 * idle. Dead connections leave the pool on 'close', so the next run reconnects.
 */
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import type ssh2 from 'ssh2';
import { MAX_TIMER_MS, type Clock } from '../../core/clock.js';
import type { NodeDef } from '../../core/types.js';

export class PooledConnection {
  /** Our exec channels open on it. */
  sessions = 0;
  /** Streams forwarded through it for bastion use: keep it open while they live. */
  holds = 0;
  /** Session channels the server accepts, learned when it refuses one. */
  limit = Infinity;
  closed = false;
  retired = false;
  lastUsedAt: number;
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly client: ssh2.Client,
    readonly signature: string,
    now: number,
    /** The node it was opened for. */
    readonly node: string,
  ) {
    this.lastUsedAt = now;
  }

  get busy(): boolean {
    return this.sessions + this.holds > 0;
  }

  hasRoom(): boolean {
    return !this.closed && !this.retired && this.sessions < this.limit;
  }
}

export interface PoolOptions {
  open: (node: NodeDef) => Promise<ssh2.Client>;
  /** Identity of a node's connection settings: a change retires its old connections. */
  signature: (node: NodeDef) => string;
  clock: Clock;
  idleTimeoutMs: number;
  extraIdleTimeoutMs: number;
  onCountChange: (open: number) => void;
}

interface NodeConns {
  conns: PooledConnection[];
  connecting: Promise<PooledConnection> | null;
}

const MAX_ATTEMPTS = 64;

export class ConnectionPool {
  private readonly byNode = new Map<string, NodeConns>();
  private closing = false;

  constructor(private readonly o: PoolOptions) {}

  count(): number {
    let n = 0;
    for (const entry of this.byNode.values()) n += entry.conns.length;
    return n;
  }

  /** Opens an exec channel on a pooled connection; the caller must release(conn) when it closes. */
  exec(node: NodeDef, command: string): Promise<ExecChannel & { conn: PooledConnection }> {
    // Not spread: `exit` is filled in later on this very object.
    return this.openChannel(
      node,
      (client) => execOn(client, command),
      (exec, conn) => Object.assign(exec, { conn }),
    );
  }

  /** Opens an SFTP session on a pooled connection; the caller must end it and release(conn). */
  sftp(node: NodeDef): Promise<{ sftp: SFTPWrapper; conn: PooledConnection }> {
    return this.openChannel(node, sftpOn, (sftp, conn) => ({ sftp, conn }));
  }

  private async openChannel<T, R>(
    node: NodeDef,
    open: (client: ssh2.Client) => Promise<T>,
    wrap: (opened: T, conn: PooledConnection) => R,
  ): Promise<R> {
    let lastError: Error | null = null;
    let emptyRefusals = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && emptyRefusals < 3; attempt++) {
      const conn = await this.withRoom(node);
      conn.sessions++;
      conn.lastUsedAt = this.o.clock.now();
      this.stopIdleTimer(conn);
      try {
        return wrap(await open(conn.client), conn);
      } catch (err) {
        lastError = err as Error;
        this.release(conn);
        if (isRefusal(lastError) && conn.sessions === 0) emptyRefusals++;
        if (!this.recoverable(conn, lastError)) throw lastError;
      }
    }
    throw new Error(`ssh: node ${node.name}: could not open a session channel: ${lastError?.message}`);
  }

  /** Any open connection to the node (opening one if needed), for probes and bastions. */
  async connection(node: NodeDef): Promise<PooledConnection> {
    const entry = this.entry(node);
    const open = entry.conns.find((c) => !c.closed && !c.retired);
    return open ?? this.openFor(node, entry);
  }

  hold(conn: PooledConnection): void {
    conn.holds++;
    this.stopIdleTimer(conn);
  }

  release(conn: PooledConnection, kind: 'session' | 'hold' = 'session'): void {
    if (kind === 'session') conn.sessions = Math.max(0, conn.sessions - 1);
    else conn.holds = Math.max(0, conn.holds - 1);
    conn.lastUsedAt = this.o.clock.now();
    if (!conn.busy) this.onIdle(conn);
  }

  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.byNode.values()].flatMap((e) => e.conns);
    await Promise.all(all.map((c) => this.end(c)));
    this.byNode.clear();
  }

  /** A refused channel (MaxSessions) or a connection found dead: worth another attempt. */
  private recoverable(conn: PooledConnection, err: Error): boolean {
    if (isRefusal(err)) {
      conn.limit = Math.max(1, conn.sessions);
      // Refused with nothing open (maybe sshd still cleaning up): try a fresh connection.
      if (conn.sessions === 0) this.retire(conn);
      return true;
    }
    if (/Not connected|No response from server|ECONNRESET|EPIPE/i.test(err.message)) {
      this.drop(conn);
      return true;
    }
    return false;
  }

  private async withRoom(node: NodeDef): Promise<PooledConnection> {
    if (this.closing) throw new Error('ssh: executor is closed');
    const entry = this.entry(node);
    while (true) {
      const free = entry.conns.find((c) => c.hasRoom());
      if (free) return free;
      if (!entry.connecting) return this.openFor(node, entry);
      // Share the connect in flight, failure included: N runs to a dead host fail together.
      const opened = await entry.connecting;
      if (opened.hasRoom()) return opened;
    }
  }

  private entry(node: NodeDef): NodeConns {
    let entry = this.byNode.get(node.name);
    if (!entry) this.byNode.set(node.name, (entry = { conns: [], connecting: null }));
    const sig = this.o.signature(node);
    for (const c of entry.conns) if (c.signature !== sig) this.retire(c);
    return entry;
  }

  /** One connect at a time per node; concurrent callers share its result. */
  private openFor(node: NodeDef, entry: NodeConns): Promise<PooledConnection> {
    if (entry.connecting) return entry.connecting;
    const sig = this.o.signature(node);
    const p = this.o.open(node).then((client) => this.adopt(node.name, entry, client, sig));
    entry.connecting = p;
    const clear = () => {
      if (entry.connecting === p) entry.connecting = null;
    };
    p.then(clear, clear);
    return p;
  }

  private adopt(name: string, entry: NodeConns, client: ssh2.Client, sig: string): PooledConnection {
    const conn = new PooledConnection(client, sig, this.o.clock.now(), name);
    client.on('close', () => this.drop(conn));
    client.on('end', () => this.drop(conn));
    if (this.closing) {
      client.end();
      throw new Error(`ssh: node ${name}: executor closed while connecting`);
    }
    entry.conns.push(conn);
    this.o.onCountChange(this.count());
    this.onIdle(conn);
    return conn;
  }

  private retire(conn: PooledConnection): void {
    conn.retired = true;
    if (!conn.busy) void this.end(conn);
  }

  private drop(conn: PooledConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.stopIdleTimer(conn);
    for (const entry of this.byNode.values()) {
      const i = entry.conns.indexOf(conn);
      if (i >= 0) entry.conns.splice(i, 1);
    }
    conn.client.end();
    this.o.onCountChange(this.count());
  }

  private end(conn: PooledConnection): Promise<void> {
    return new Promise((resolve) => {
      if (conn.closed) return resolve();
      conn.client.once('close', () => resolve());
      setTimeout(resolve, 1000).unref();
      this.drop(conn);
    });
  }

  private onIdle(conn: PooledConnection): void {
    if (conn.closed) return;
    if (conn.retired) return void this.end(conn);
    this.scheduleIdleCheck(conn, this.idleLimit(conn));
  }

  /** The first connection of a node is its main one; the others are extras and go sooner. */
  private idleLimit(conn: PooledConnection): number {
    // Its own node's list only: scanning every node's on each release cost O(nodes) per run.
    const isMain = this.byNode.get(conn.node)?.conns[0] === conn;
    return isMain ? this.o.idleTimeoutMs : Math.min(this.o.extraIdleTimeoutMs, this.o.idleTimeoutMs);
  }

  /** Self-rescheduling check that re-reads the clock, so a busy spell resets the countdown. */
  private scheduleIdleCheck(conn: PooledConnection, delayMs: number): void {
    this.stopIdleTimer(conn);
    conn.timer = setTimeout(
      () => {
        conn.timer = null;
        if (conn.closed || conn.busy) return;
        const remaining = conn.lastUsedAt + this.idleLimit(conn) - this.o.clock.now();
        if (remaining <= 0) void this.end(conn);
        else this.scheduleIdleCheck(conn, remaining);
      },
      // Capped: the check re-reads the clock, and a longer timer would fire at once.
      Math.min(Math.max(0, delayMs), MAX_TIMER_MS),
    );
    conn.timer.unref();
  }

  private stopIdleTimer(conn: PooledConnection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
  }
}

function isRefusal(err: Error): boolean {
  return /Channel open failure/i.test(err.message);
}

/**
 * What a channel reported before anyone could listen: a fast command's exit status and close
 * can arrive in the same TCP read as the exec reply, so they are captured synchronously.
 */
export interface ExecChannel {
  channel: ClientChannel;
  exit: { code: number | null; signal: string | null } | null;
  closed: Promise<void>;
}

function execOn(client: ssh2.Client, command: string): Promise<ExecChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, channel) => {
        if (err) return reject(err);
        const exec: ExecChannel = {
          channel,
          exit: null,
          closed: new Promise((r) => channel.once('close', () => r())),
        };
        channel.on('exit', (code: number | null, signal?: string) => {
          exec.exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
        });
        resolve(exec);
      });
    } catch (err) {
      reject(err as Error);
    }
  });
}

function sftpOn(client: ssh2.Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    try {
      client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
    } catch (err) {
      reject(err as Error);
    }
  });
}
