import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { connect } from 'node:net';
import { MAX_FOLLOWERS_PER_RUN } from '../../../src/api/routes-output.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { openSse, type SseEvent } from '../../harness/sse.js';
import { ApiDaemon, eventually } from './api-daemon.js';

const LINES = 10;
/** A line every 200 ms, each with the time (ms) it was printed. */
const TICKER = `sleep 1; for i in $(seq 1 ${LINES}); do echo "line $i $(date +%s%3N)"; sleep 0.2; done; echo bye >&2`;

function outputs(events: SseEvent[]): { stream: string; node: string; text: string; id: number }[] {
  return events
    .filter((e) => e.event === 'output')
    .map((e) => ({
      ...(JSON.parse(e.data) as { stream: string; node: string; text: string }),
      id: Number(e.id),
    }));
}

/** Each printed line's latency: received − printed (ms). */
function latencies(events: SseEvent[]): number[] {
  const out: number[] = [];
  for (const e of events.filter((x) => x.event === 'output')) {
    const { text } = JSON.parse(e.data) as { text: string };
    for (const m of text.matchAll(/line \d+ (\d{13})/g)) out.push(e.at - Number(m[1]));
  }
  return out;
}

/** The events' ids are exactly the running byte count of their texts: nothing lost, nothing repeated. */
function expectContiguous(events: SseEvent[], from = 0): void {
  let pos = from;
  for (const o of outputs(events)) {
    pos += Buffer.byteLength(o.text);
    expect(o.id).to.equal(pos);
  }
}

describe('REST API live output (SSE) of local and SSH runs', function () {
  this.timeout(120_000);
  const fixture = useSshHosts('api live output', { count: 1 });
  const d = new ApiDaemon();

  before(async function () {
    const hosts = fixture.hosts;
    d.env.writeNode('local', { roles: ['local'], connection_type: 'local', max_concurrent_runs: 4 });
    d.env.writeNode('h0', {
      roles: ['remote'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(0),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    d.env.writeJob('tick-local', { policy: { select: 'any', hosts: ['local'] }, shell_command: TICKER });
    d.env.writeJob('tick-ssh', { policy: { select: 'any', hosts: ['h0'] }, shell_command: TICKER });
    d.env.writeJob('flood', {
      policy: { select: 'any', hosts: ['local'] },
      shell_command: 'head -c 60000000 /dev/zero | tr "\\0" x; sleep 1',
    });
    d.env.writeJob('crowd', {
      policy: { select: 'any', hosts: ['local'] },
      // Starts printing once the test has its followers connected.
      shell_command: `while [ ! -e '${d.dir}/go' ]; do sleep 0.05; done; for i in $(seq 1 20); do echo "tick $i"; sleep 0.1; done`,
    });
    d.env.writeJob('slowticks', {
      policy: { select: 'any', hosts: ['local'] },
      shell_command: 'for i in $(seq 1 20); do echo "tick $i"; sleep 0.1; done',
    });
    await d.start({ knownHostsFile: hosts.knownHostsFile });
  });
  after(() => d.cleanup());

  const start = async (job: string): Promise<string> =>
    (await d.as().post(`/api/v1/jobs/${job}/run`)).json.run_ids[0] as string;
  const streamUrl = (id: string) => `${d.url}/api/v1/runs/${id}/output/stream`;

  for (const [label, job] of [
    ['locally', 'tick-local'],
    ['over SSH', 'tick-ssh'],
  ] as const) {
    it(`a follower sees each line within 500 ms of it being printed, ${label}, then end`, async () => {
      const id = await start(job);
      const sse = openSse(streamUrl(id));
      expect(await sse.status).to.equal(200);
      const end = await sse.waitFor((e) => e.event === 'end', 20_000);
      expect(JSON.parse(end.data)).to.deep.equal({ status: 'succeeded', exit_code: 0 });
      await sse.closed;
      const lat = latencies(sse.events);
      expect(lat).to.have.length(LINES);
      // The follower connected before the first line (printed after 1 s): every line counts.
      for (const ms of lat) expect(ms).to.be.below(500);
      expectContiguous(sse.events);
      const out = outputs(sse.events);
      expect(out.every((o) => o.node === (job === 'tick-ssh' ? 'h0' : 'local'))).to.equal(true);
      expect(out.filter((o) => o.stream === 'stderr').map((o) => o.text)).to.deep.equal(['bye\n']);
      // The stored copy has the same bytes at the same offsets.
      const all = (await d.as().get(`/api/v1/runs/${id}/output`)).json;
      expect(all.complete).to.equal(true);
      expect(all.text).to.equal(out.map((o) => o.text).join(''));
      expect(all.next_offset).to.equal(out[out.length - 1]!.id);
      const stdout = (await d.as().get(`/api/v1/runs/${id}/output?stream=stdout`)).json;
      expect(stdout.text).to.not.include('bye');
      expect(stdout.text).to.include('line 10 ');
      // A follower of a finished run gets the stored output then end.
      const late = openSse(streamUrl(id));
      await late.closed;
      expect(
        outputs(late.events)
          .map((o) => o.text)
          .join(''),
      ).to.equal(all.text);
      expect(late.events.at(-1)!.event).to.equal('end');
    });
  }

  it('GET /output while running is incomplete and continues from next_offset', async () => {
    const id = await start('slowticks');
    const first = await eventually(async () => {
      const r = (await d.as().get(`/api/v1/runs/${id}/output`)).json;
      return r.text.includes('tick 2') ? r : undefined;
    });
    expect(first.complete).to.equal(false);
    const rest = await eventually(async () => {
      const r = (await d.as().get(`/api/v1/runs/${id}/output?offset=${first.next_offset}`)).json;
      return r.complete ? r : undefined;
    });
    expect(first.text + rest.text).to.equal(Array.from({ length: 20 }, (_, i) => `tick ${i + 1}\n`).join(''));
    expect((await d.as().get(`/api/v1/runs/${id}/output?offset=x`)).status).to.equal(400);
    expect((await d.as().get(`/api/v1/runs/${id}/output?stream=both2`)).status).to.equal(400);
    expect((await d.as().get(`/api/v1/runs/nope/output`)).status).to.equal(404);
  });

  it('a reconnect with Last-Event-ID loses and repeats nothing', async () => {
    const id = await start('slowticks');
    const a = openSse(streamUrl(id));
    await a.waitFor(
      (e) => e.event === 'output' && (JSON.parse(e.data) as { text: string }).text.includes('tick 5'),
    );
    a.close();
    const lastId = outputs(a.events).at(-1)!.id;
    // The daemon notices the follower left.
    await eventually(async () =>
      d.daemon.control.output!.followers.get(id) === undefined ? true : undefined,
    );
    const b = openSse(streamUrl(id), { lastEventId: String(lastId) });
    await b.waitFor((e) => e.event === 'end', 20_000);
    expectContiguous(b.events, lastId);
    const text = [...outputs(a.events), ...outputs(b.events)].map((o) => o.text).join('');
    expect(text).to.equal(Array.from({ length: 20 }, (_, i) => `tick ${i + 1}\n`).join(''));
  });

  it('drops a follower that never reads, with bounded memory; the run is unaffected', async () => {
    const id = await start('flood');
    const url = new URL(streamUrl(id));
    const socket = connect(Number(url.port), url.hostname);
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause();
    const output = d.daemon.control.output!;
    await eventually(async () => (output.followers.get(id) === 1 ? true : undefined));
    const rss = process.memoryUsage().rss;
    await eventually(async () => (output.followers.get(id) === undefined ? true : undefined), 30_000);
    expect(process.memoryUsage().rss - rss).to.be.below(200 * 1024 * 1024);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => (received += t.slice(-2000)));
    socket.resume();
    await new Promise((r) => socket.once('close', r));
    expect(received).to.include('event: dropped');
    const run = await eventually(async () => {
      const r = (await d.as().get(`/api/v1/runs/${id}`)).json;
      return r.status === 'running' ? undefined : r;
    }, 60_000);
    expect(run).to.include({ status: 'succeeded', output_truncated: true });
  });

  it(`${MAX_FOLLOWERS_PER_RUN} concurrent followers all get every line; one more is refused with 503`, async () => {
    const id = await start('crowd');
    const agent = new Agent({ maxSockets: Infinity });
    const followers = Array.from({ length: MAX_FOLLOWERS_PER_RUN }, () => openSse(streamUrl(id), { agent }));
    const statuses = await Promise.all(followers.map((f) => f.status));
    expect(statuses.every((s) => s === 200)).to.equal(true);
    await eventually(async () =>
      d.daemon.control.output!.followers.get(id) === MAX_FOLLOWERS_PER_RUN ? true : undefined,
    );
    const extra = openSse(streamUrl(id), { agent });
    expect(await extra.status).to.equal(503);
    expect(await extra.body).to.include('too_many_followers');
    writeFileSync(join(d.dir, 'go'), '');
    await Promise.all(followers.map((f) => f.closed));
    const want = Array.from({ length: 20 }, (_, i) => `tick ${i + 1}\n`).join('');
    for (const f of followers) {
      expect(
        outputs(f.events)
          .map((o) => o.text)
          .join(''),
      ).to.equal(want);
      expect(f.events.at(-1)!.event).to.equal('end');
    }
    expect((await d.as().get(`/api/v1/runs/${id}`)).json.status).to.equal('succeeded');
    agent.destroy();
  });

  it('a restart keeps the output written so far', async () => {
    const id = await start('slowticks');
    await eventually(async () => {
      const r = (await d.as().get(`/api/v1/runs/${id}/output`)).json;
      return r.text.includes('tick 3') ? true : undefined;
    });
    await d.stop();
    await d.start({ knownHostsFile: fixture.hosts.knownHostsFile });
    const after = (await d.as().get(`/api/v1/runs/${id}/output`)).json;
    expect(after.complete).to.equal(true);
    expect(after.text).to.match(/^tick 1\ntick 2\ntick 3\n/);
    const late = openSse(streamUrl(id));
    await late.closed;
    expect(
      outputs(late.events)
        .map((o) => o.text)
        .join(''),
    ).to.equal(after.text);
    expect(JSON.parse(late.events.at(-1)!.data)).to.include({ status: 'cancelled' });
  });
});
