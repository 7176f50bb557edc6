import { expect } from 'chai';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { ApiDaemon } from './api-daemon.js';

describe('daemon start-up with the REST API', function () {
  this.timeout(60_000);

  it('refuses to start on a non-loopback address without API tokens, saying what to do', async () => {
    const env = new DaemonEnv();
    try {
      let error: Error | undefined;
      await env.start({ listen: '0.0.0.0:0' }).catch((e: Error) => (error = e));
      expect(error?.message).to.match(
        /^api: refusing to listen on 0\.0\.0\.0 without API tokens; pass --api-tokens FILE/,
      );
    } finally {
      await env.cleanup();
    }
  });

  it('refuses to start with a broken token file, naming the file', async () => {
    const env = new DaemonEnv();
    try {
      let error: Error | undefined;
      await env
        .start({ listen: '127.0.0.1:0', apiTokensFile: `${env.dir}/missing.json` })
        .catch((e: Error) => (error = e));
      expect(error?.message).to.match(/^api: cannot read the token file .*missing\.json/);
    } finally {
      await env.cleanup();
    }
  });

  it('enforces the token file of a running daemon: 401 without a token, 403 for a weak role', async () => {
    const d = new ApiDaemon(TOKEN_FILE);
    try {
      d.env.writeNode('local', { roles: ['local'], connection_type: 'local' });
      d.env.writeJob('quick', { policy: { select: 'any', roles: ['local'] }, command: ['true'] });
      await d.start();
      expect(d.daemon.apiUrl, 'the daemon serves the API itself').to.equal(d.url);
      expect((await d.as().get('/api/v1/jobs')).status).to.equal(401);
      expect((await d.as(TOKENS.read).post('/api/v1/jobs/quick/disable')).status).to.equal(403);
      expect((await d.as(TOKENS.operate).post('/api/v1/jobs/quick/disable')).status).to.equal(200);
      expect((await d.as().get('/healthz')).status).to.equal(200);
    } finally {
      await d.cleanup();
    }
  });
});
