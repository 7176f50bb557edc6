import { expect } from 'chai';
import { baseEnvironment, runVariables } from '../../../src/exec/job-env.js';

describe('job environment', () => {
  const daemon = {
    PATH: '/opt/bin:/usr/bin',
    HOME: '/var/lib/distcron',
    USER: 'distcron',
    TZ: 'Europe/Berlin',
    DISTCRON_SMTP_PASSWORD: 'hunter2',
    ES_PASSWORD: 'secret',
    HTTP_PROXY: 'http://proxy:3128',
  };

  it("takes only the fixed names from the daemon's environment", () => {
    expect(baseEnvironment(daemon)).to.deep.equal({
      PATH: '/opt/bin:/usr/bin',
      HOME: '/var/lib/distcron',
      USER: 'distcron',
      TZ: 'Europe/Berlin',
      SHELL: '/bin/sh',
      LANG: 'C.UTF-8',
    });
  });

  it('fills sensible defaults where the daemon has none', () => {
    expect(baseEnvironment({})).to.deep.equal({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/',
      SHELL: '/bin/sh',
      LANG: 'C.UTF-8',
    });
  });

  it('adds the names opted in with --env-passthrough, and only those', () => {
    const env = baseEnvironment(daemon, ['HTTP_PROXY', 'NOT_SET']);
    expect(env.HTTP_PROXY).to.equal('http://proxy:3128');
    expect(env).not.to.have.property('NOT_SET');
    expect(env).not.to.have.property('ES_PASSWORD');
    expect(env).not.to.have.property('DISTCRON_SMTP_PASSWORD');
  });

  it('describes the run in DISTCRON_* variables', () => {
    expect(runVariables({ runId: 'r1', job: 'backup', node: 'db1' })).to.deep.equal({
      DISTCRON_RUN_ID: 'r1',
      DISTCRON_JOB: 'backup',
      DISTCRON_NODE: 'db1',
    });
  });
});
