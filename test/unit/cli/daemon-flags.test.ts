import { expect } from 'chai';
import { resolveDaemonOptions } from '../../../src/cli/daemon-flags.js';
import { DAEMON_DEFAULTS, parseListen, withDefaults } from '../../../src/daemon/options.js';

describe('daemon options: defaults < DISTCRON_* env < flag', () => {
  it('takes the default when neither env nor flag says anything', () => {
    expect(withDefaults(resolveDaemonOptions({}, {})).graceMs).to.equal(DAEMON_DEFAULTS.graceMs);
  });

  it('lets the environment override a default and a flag override the environment', () => {
    const env = { DISTCRON_DB: '/env.db', DISTCRON_GRACE: '2m' };
    expect(resolveDaemonOptions({}, env)).to.include({ dbPath: '/env.db', graceMs: 120_000 });
    expect(resolveDaemonOptions({ db: '/flag.db' }, env)).to.include({
      dbPath: '/flag.db',
      graceMs: 120_000,
    });
  });

  it('reads secrets from the environment only, never from a flag', () => {
    const options = resolveDaemonOptions({ esPassword: 'from-flag' }, { DISTCRON_ES_PASSWORD: 'from-env' });
    expect(options.esPassword).to.equal('from-env');
  });

  it('accepts ELASTICSEARCH_URL as well as --es-url', () => {
    expect(resolveDaemonOptions({}, { ELASTICSEARCH_URL: 'http://es:9200' }).esUrl).to.equal(
      'http://es:9200',
    );
    expect(
      resolveDaemonOptions({ esUrl: 'http://flag:9200' }, { ELASTICSEARCH_URL: 'http://es:9200' }).esUrl,
    ).to.equal('http://flag:9200');
  });

  it('parses durations, sizes, day retention and booleans, naming the flag on error', () => {
    const o = resolveDaemonOptions(
      { outputLimit: '512KiB', retention: '30d', shutdownGrace: '1m30s', smtpRequireTls: 'yes' },
      {},
    );
    expect(o).to.include({
      outputLimitBytes: 512 * 1024,
      retentionMs: 30 * 86_400_000,
      shutdownGraceMs: 90_000,
      smtpRequireTls: true,
    });
    expect(() => resolveDaemonOptions({ grace: '2d' }, {})).to.throw(
      /--grace \(DISTCRON_GRACE\): invalid duration "2d": days are not a unit/,
    );
    expect(() => resolveDaemonOptions({ hostKeyPolicy: 'trust-me' }, {})).to.throw(
      /expected "strict" or "tofu"/,
    );
  });

  it('turns the API off with --listen off, and validates HOST:PORT', () => {
    expect(resolveDaemonOptions({ listen: 'off' }, {}).listen).to.equal(null);
    expect(parseListen('[::1]:8080')).to.deep.equal({ host: '::1', port: 8080 });
    expect(() => parseListen('8080')).to.throw(/--listen must be HOST:PORT/);
  });

  it('reads --env-passthrough as a list of names, from the flag or DISTCRON_ENV_PASSTHROUGH', () => {
    expect(resolveDaemonOptions({ envPassthrough: 'HTTP_PROXY, NO_PROXY' }, {}).envPassthrough).to.deep.equal(
      ['HTTP_PROXY', 'NO_PROXY'],
    );
    expect(resolveDaemonOptions({}, { DISTCRON_ENV_PASSTHROUGH: 'A' }).envPassthrough).to.deep.equal(['A']);
    expect(withDefaults({}).envPassthrough).to.deep.equal([]);
    expect(() => resolveDaemonOptions({ envPassthrough: 'OK,1BAD' }, {})).to.throw(
      /--env-passthrough \(DISTCRON_ENV_PASSTHROUGH\): "1BAD" is not an environment variable name/,
    );
  });

  it('reads the API safety flags: host and origin lists, and switches that need no value', () => {
    const o = resolveDaemonOptions(
      { apiAllowedHosts: 'cron.example, proxy.example:443', apiInsecureNoAuth: true },
      { DISTCRON_API_CORS_ORIGIN: 'https://console.example', DISTCRON_METRICS_JOB_LABELS: 'true' },
    );
    expect(o).to.deep.include({
      apiAllowedHosts: ['cron.example', 'proxy.example:443'],
      apiCorsOrigins: ['https://console.example'],
      apiInsecureNoAuth: true,
      metricsJobLabels: true,
    });
    expect(withDefaults({})).to.deep.include({ apiInsecureNoAuth: false, metricsJobLabels: false });
  });

  it('reads --no-ui (commander gives it as ui: false, and ui: true when absent) and DISTCRON_NO_UI', () => {
    expect(resolveDaemonOptions({ ui: false }, {}).ui).to.equal(false);
    expect(resolveDaemonOptions({ ui: true }, {}).ui).to.equal(undefined);
    expect(resolveDaemonOptions({ ui: true }, { DISTCRON_NO_UI: 'true' }).ui).to.equal(false);
    expect(withDefaults({}).ui).to.equal(true);
  });
});
