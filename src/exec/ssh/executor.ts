/**
 * Runs commands on ssh nodes over pooled ssh2 connections (see pool.ts), with host-key checks
 * (host-keys.ts), bastions via `ssh_jump`, and whole-tree kill on timeout/cancel (remote.ts).
 */
import { MAX_TIMER_MS } from '../../core/clock.js';
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import type { NodeDef, SshConnection } from '../../core/types.js';
import { errorOutcome, type ExecOutcome, type ExecRequest, type Executor } from '../executor.js';
import { credentialsFor } from './auth.js';
import { ConnectError, openClient, target } from './connect.js';
import { HostKeyChecker } from './host-keys.js';
import { resolveSshOptions, type SshExecutorInput, type SshExecutorOptions } from './options.js';
import { ConnectionPool } from './pool.js';
import { killTreeCommand, wrapCommand } from './remote.js';
import { RemoteRun } from './run.js';
import { uploadScript } from './upload.js';
import { shellQuote } from '../quote.js';
import { withSetupFailure } from '../setup-failure.js';

const MAX_JUMP_DEPTH = 8;

export class SshExecutor implements Executor {
  readonly options: SshExecutorOptions;
  private readonly checker: HostKeyChecker;
  private readonly pool: ConnectionPool;
  private closed = false;

  constructor(input: SshExecutorInput) {
    this.options = resolveSshOptions(input);
    this.checker = new HostKeyChecker(this.options);
    this.pool = new ConnectionPool({
      open: (node) => this.open(node),
      signature: (node) => JSON.stringify(node.connection),
      clock: this.options.clock,
      idleTimeoutMs: this.options.idleTimeoutMs,
      extraIdleTimeoutMs: this.options.extraIdleTimeoutMs,
      onCountChange: (n) => this.options.metrics?.sshConnectionsOpen.set(n),
    });
  }

  async run(node: NodeDef, req: ExecRequest): Promise<ExecOutcome> {
    const now = () => this.options.clock.now();
    if (this.closed) return errorOutcome('ssh: executor is closed', now(), false);
    if (req.signal.aborted)
      return { ...errorOutcome('cancelled before it started', now(), false), status: 'cancelled' };
    let conn: SshConnection;
    try {
      conn = sshConnection(node);
      wrapCommand(req); // a request that cannot be written as a command line fails here
    } catch (err) {
      return errorOutcome((err as Error).message, now(), false);
    }
    const host = `${conn.host}:${conn.port}`;
    const script = req.command.kind === 'script' ? req.command : undefined;
    let uploadDir: string | undefined;
    let opened;
    try {
      if (script?.delivery === 'upload') uploadDir = await uploadScript(this.pool, node, script.content);
      opened = await this.pool.exec(node, wrapCommand(req, uploadDir));
    } catch (err) {
      if (uploadDir !== undefined) void this.removeDir(node, uploadDir);
      return errorOutcome(messageOf(err, node), now(), isConnectFailure(err), host);
    }
    // Every run's stdin is empty and closed (after the script, when it comes that way): a
    // command that reads stdin gets end of input instead of waiting for its timeout.
    opened.channel.on('error', () => undefined);
    if (script && script.delivery === 'stdin') opened.channel.end(script.content);
    else opened.channel.end();
    const startedAt = now();
    req.onStart?.(startedAt, host);
    const run = new RemoteRun(opened, req, {
      clock: this.options.clock,
      logger: this.options.logger,
      killTree: (pgid) => this.killTree(node, pgid, { runAs: req.command.runAs, cleanupDir: uploadDir }),
      host,
      node: node.name,
    });
    try {
      return withSetupFailure(await run.result(startedAt), req, `node ${node.name} (${host})`);
    } finally {
      this.pool.release(opened.conn);
    }
  }

  /** Resolves once the node accepts an authenticated connection (reusing a pooled one). */
  async probe(node: NodeDef): Promise<void> {
    if (this.closed) throw new Error('ssh: executor is closed');
    sshConnection(node);
    await this.pool.connection(node);
  }

  openConnections(): number {
    return this.pool.count();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
    this.options.metrics?.sshConnectionsOpen.set(0);
  }

  private async killTree(
    node: NodeDef,
    pgid: number,
    opts: { runAs?: string; cleanupDir?: string },
  ): Promise<void> {
    try {
      await this.runQuietly(node, killTreeCommand(pgid, this.options.killGraceMs, opts));
    } catch (err) {
      this.options.logger.warn(
        { err, node: node.name, pgid },
        'ssh: could not kill the remote process group',
      );
    }
  }

  /** An uploaded script's directory when its run never started. */
  private async removeDir(node: NodeDef, dir: string): Promise<void> {
    try {
      await this.runQuietly(node, `rm -rf -- ${shellQuote(dir)}`);
    } catch (err) {
      this.options.logger.warn({ err, node: node.name, dir }, 'ssh: could not remove an uploaded script');
    }
  }

  private async runQuietly(node: NodeDef, command: string): Promise<void> {
    const { channel, conn, closed } = await this.pool.exec(node, command);
    channel.on('error', () => undefined);
    channel.end();
    channel.resume();
    channel.stderr.resume();
    await closed;
    this.pool.release(conn);
  }

  private async open(node: NodeDef): Promise<ssh2.Client> {
    const conn = sshConnection(node);
    let creds;
    try {
      creds = credentialsFor(node, conn);
    } catch (err) {
      throw new ConnectError((err as Error).message);
    }
    const jump = conn.jump !== undefined ? await this.forwardThroughJump(node, conn) : undefined;
    const client = openClient({
      node,
      conn,
      creds,
      checker: this.checker,
      timeoutMs: this.options.connectTimeoutMs,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs,
      keepaliveCountMax: this.options.keepaliveCountMax,
      stream: jump?.stream,
    });
    if (jump) void client.then((c) => c.once('close', jump.release), jump.release);
    return client;
  }

  /** A TCP stream to the node opened from its bastion's pooled connection (like ProxyJump). */
  private async forwardThroughJump(
    node: NodeDef,
    conn: SshConnection,
  ): Promise<{ stream: Duplex; release: () => void }> {
    const jumpNode = this.jumpNodeOf(node, conn);
    let jumpConn;
    try {
      jumpConn = await this.pool.connection(jumpNode);
    } catch (err) {
      throw new ConnectError(
        `ssh: ${target({ node, conn })}: bastion ${jumpNode.name} failed: ${messageOf(err, jumpNode)}`,
      );
    }
    this.pool.hold(jumpConn);
    const release = once(() => this.pool.release(jumpConn, 'hold'));
    try {
      const stream = await forwardOut(jumpConn.client, conn, this.options.connectTimeoutMs);
      return { stream, release };
    } catch (err) {
      release();
      throw new ConnectError(
        `ssh: ${target({ node, conn })}: bastion ${jumpNode.name} could not reach it: ${(err as Error).message}`,
      );
    }
  }

  private jumpNodeOf(node: NodeDef, conn: SshConnection): NodeDef {
    const seen = [node.name];
    let current = conn;
    let jumpNode: NodeDef | undefined;
    while (current.jump !== undefined) {
      jumpNode = this.options.resolveNode(current.jump);
      if (!jumpNode)
        throw new ConnectError(`ssh: node ${node.name}: ssh_jump names unknown node "${current.jump}"`);
      if (jumpNode.connection.type !== 'ssh')
        throw new ConnectError(`ssh: node ${node.name}: ssh_jump node "${jumpNode.name}" is not an ssh node`);
      if (seen.includes(jumpNode.name) || seen.length > MAX_JUMP_DEPTH)
        throw new ConnectError(
          `ssh: node ${node.name}: ssh_jump chain loops or is too deep (${[...seen, jumpNode.name].join(' -> ')})`,
        );
      seen.push(jumpNode.name);
      current = jumpNode.connection;
    }
    return this.options.resolveNode(conn.jump!)!;
  }
}

function sshConnection(node: NodeDef): SshConnection {
  if (node.connection.type !== 'ssh') throw new Error(`ssh: node ${node.name} is not an ssh node`);
  return node.connection;
}

function forwardOut(client: ssh2.Client, conn: SshConnection, timeoutMs: number): Promise<Duplex> {
  const host = conn.host.startsWith('[') ? conn.host.slice(1, -1) : conn.host;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        reject(new Error(`no answer within ${timeoutMs} ms`));
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    try {
      client.forwardOut('127.0.0.1', 0, host, conn.port, (err, stream) => {
        clearTimeout(timer);
        if (timedOut) return stream?.destroy();
        if (err) reject(err);
        else resolve(stream);
      });
    } catch (err) {
      clearTimeout(timer);
      reject(err as Error);
    }
  });
}

function isConnectFailure(err: unknown): boolean {
  return err instanceof ConnectError;
}

function messageOf(err: unknown, node: NodeDef): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith('ssh: ') ? msg : `ssh: node ${node.name}: ${msg}`;
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
