import { expect } from 'chai';
import { ES_TEST_VERSIONS, type EsTestServer } from '../../harness/elasticsearch.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { esOrSkip } from '../report/fixtures.js';

interface Hit {
  _id: string;
  _source: { job: string; status: string; exit_code: number; stdout: string; tags: string[] };
}

describe('daemon: every run reaches a real Elasticsearch through the outbox', function () {
  this.timeout(300_000);
  let es: EsTestServer;
  let env: DaemonEnv;

  before(async function () {
    es = await esOrSkip(this, 'daemon reports', ES_TEST_VERSIONS.v9);
  });
  beforeEach(() => (env = new DaemonEnv()));
  afterEach(() => env.cleanup());

  it('indexes a finished run under its id, with the job tags, in the monthly index', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    env.writeJob('reported', {
      policy: { select: 'any', roles: ['local'] },
      shell_command: 'echo to-kibana; exit 4',
      tags: ['nightly', 'db'],
    });
    const daemon = await env.start({ esUrl: es.url });
    const { runIds } = await daemon.control.runJob('reported', {});
    const run = await daemon.control.waitForRun(runIds[0]!);
    const month = run.started_at!.slice(0, 7).replace('-', '.');
    const doc = await waitForDoc(es.url, `distcron-runs-${month}`, run.id);
    expect(doc._source).to.include({
      job: 'reported',
      status: 'failed',
      exit_code: 4,
      stdout: 'to-kibana\n',
    });
    expect(doc._source.tags).to.deep.equal(['nightly', 'db']);
  });
});

async function waitForDoc(esUrl: string, index: string, id: string): Promise<Hit> {
  const until = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${esUrl}/${index}/_doc/${id}`);
    if (res.ok) return (await res.json()) as Hit;
    if (Date.now() > until) throw new Error(`document ${id} not in ${index} after 60 s (HTTP ${res.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
