import { expect } from 'chai';
import { esConnectionFrom, safeUrl } from '../../../src/cli/es-setup.js';

describe('Elasticsearch connection flags', () => {
  it('is off when neither flag nor environment names a URL', () => {
    expect(esConnectionFrom({}, {})).to.equal(undefined);
  });

  it('reads URL, API key and CA file from the environment', () => {
    const env = {
      ELASTICSEARCH_URL: 'https://es:9200',
      ELASTICSEARCH_API_KEY: 'k1',
      ELASTICSEARCH_CA_FILE: '/ca.pem',
    };
    expect(esConnectionFrom({}, env)).to.deep.equal({
      url: 'https://es:9200',
      auth: { apiKey: 'k1' },
      caFile: '/ca.pem',
    });
  });

  it('lets flags win over the environment and DISTCRON_ES_* over ELASTICSEARCH_*', () => {
    const env = { ELASTICSEARCH_URL: 'http://a:9200', DISTCRON_ES_URL: 'http://b:9200' };
    expect(esConnectionFrom({}, env)?.url).to.equal('http://b:9200');
    expect(esConnectionFrom({ esUrl: 'http://c:9200' }, env)?.url).to.equal('http://c:9200');
  });

  it('builds basic auth from a username and a password from the environment', () => {
    const conn = esConnectionFrom(
      { esUrl: 'http://es:9200', esUsername: 'distcron' },
      { ELASTICSEARCH_PASSWORD: 'pw' },
    );
    expect(conn?.auth).to.deep.equal({ username: 'distcron', password: 'pw' });
  });

  it('refuses a username without a password and says where to put it', () => {
    expect(() => esConnectionFrom({ esUrl: 'http://es:9200', esUsername: 'u' }, {})).to.throw(
      /^es: .*ELASTICSEARCH_PASSWORD/,
    );
  });

  it('strips credentials from a URL before it appears in a message', () => {
    expect(safeUrl('https://user:secret@es.example:9200/')).to.equal('https://es.example:9200/');
  });
});
