/**
 * `"script_delivery": "upload"`: the script is written over SFTP into a fresh directory under
 * the login user's home, made like `mktemp -d` (a random name created exclusively, mode 0700),
 * as `<dir>/script` with mode 0700. The run's own command removes the directory whatever the
 * exit (see wrapCommand); a kill removes it too (killTreeCommand).
 */
import { randomBytes } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import type { NodeDef } from '../../core/types.js';
import type { ConnectionPool } from './pool.js';
import { UPLOADED_SCRIPT_NAME } from './remote.js';

/** Prefix of the directories, so an operator can recognise one left by a lost connection. */
export const UPLOAD_DIR_PREFIX = '.distcron-script.';

export async function uploadScript(pool: ConnectionPool, node: NodeDef, content: Buffer): Promise<string> {
  let opened;
  try {
    opened = await pool.sftp(node);
  } catch (err) {
    const msg = (err as Error).message;
    if (/subsystem/i.test(msg))
      throw new Error(
        `ssh: node ${node.name}: cannot upload the script: the host refused the SFTP subsystem (${msg}); enable "Subsystem sftp internal-sftp" in sshd_config, or use the default "script_delivery": "stdin"`,
      );
    throw err;
  }
  const { sftp, conn } = opened;
  try {
    const home = await call<string>((cb) => sftp.realpath('.', cb));
    const dir = `${home.replace(/\/+$/, '')}/${UPLOAD_DIR_PREFIX}${randomBytes(6).toString('hex')}`;
    await call((cb) => sftp.mkdir(dir, { mode: 0o700 }, cb));
    const file = `${dir}/${UPLOADED_SCRIPT_NAME}`;
    try {
      await call((cb) => sftp.writeFile(file, content, { mode: 0o700 }, cb));
    } catch (err) {
      await call((cb) => sftp.unlink(file, cb)).catch(() => undefined);
      await call((cb) => sftp.rmdir(dir, cb)).catch(() => undefined);
      throw err;
    }
    return dir;
  } catch (err) {
    throw new Error(`ssh: node ${node.name}: cannot upload the script over SFTP: ${(err as Error).message}`);
  } finally {
    await endSftp(sftp);
    pool.release(conn);
  }
}

function call<T = void>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      fn((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** Ends the session and waits (briefly) for its channel to close, so its slot is really free. */
function endSftp(sftp: SFTPWrapper): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    sftp.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      sftp.end();
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
