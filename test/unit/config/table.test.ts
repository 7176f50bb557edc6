import { expect } from 'chai';
import { ConfigTable } from '../../../src/config/table.js';

const FILES = ['jobs.d/a/x.json', 'jobs.d/b/x.json', 'jobs.d/y.json', 'jobs.d/c/z.json', 'jobs.d/z.json'];
const NODE_FILES = ['nodes.d/db1.json', 'nodes.d/r/db1.json', 'nodes.d/db2.json'];
const nameOf = (file: string) => file.slice(file.lastIndexOf('/') + 1, -'.json'.length);

/** Tiny deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the snapshot must contain: per file the last good description, the first sorted file per name wins. */
class Model {
  readonly lastGood = new Map<string, string | undefined>();

  active(): Map<string, string> {
    const claimed = new Set<string>();
    const out = new Map<string, string>();
    for (const file of [...this.lastGood.keys()].sort()) {
      const name = nameOf(file);
      if (claimed.has(name)) continue;
      claimed.add(name);
      const good = this.lastGood.get(file);
      if (good !== undefined) out.set(name, good);
    }
    return out;
  }
}

describe('config: incremental snapshots', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`match a from-scratch model after every step of random edits (seed ${seed})`, () => {
      const random = rng(seed);
      const table = new ConfigTable('UTC');
      const jobs = new Model();
      const nodes = new Model();
      const running = new Map<string, unknown>();
      for (let step = 0; step < 300; step++) {
        const isNode = random() < 0.3;
        const files = isNode ? NODE_FILES : FILES;
        const file = files[Math.floor(random() * files.length)]!;
        const model = isNode ? nodes : jobs;
        const roll = random();
        if (roll < 0.2) {
          table.remove(isNode ? 'node' : 'job', file);
          model.lastGood.delete(file);
        } else if (roll < 0.35) {
          table.update(isNode ? 'node' : 'job', file, { ok: true, text: '{"broken": ' });
          if (!model.lastGood.has(file)) model.lastGood.set(file, undefined);
        } else {
          const description = `v${step}`;
          const text = isNode
            ? JSON.stringify({ connection_type: 'local', roles: ['db'], description })
            : JSON.stringify({ policy: { roles: ['db'] }, command: ['x'], description });
          table.update(isNode ? 'node' : 'job', file, { ok: true, text });
          model.lastGood.set(file, description);
        }
        const { snapshot, diff } = table.publish();
        const descriptions = (m: Map<string, { description?: string }>) =>
          new Map([...m].map(([name, def]) => [name, def.description!]));
        expect(descriptions(snapshot.jobs), `jobs at step ${step}`).to.deep.equal(jobs.active());
        expect(descriptions(snapshot.nodes), `nodes at step ${step}`).to.deep.equal(nodes.active());
        const expectedNames = new Set(snapshot.jobs.keys());
        for (const name of diff.jobs.removed) running.delete(name);
        for (const name of [...diff.jobs.added, ...diff.jobs.changed])
          running.set(name, snapshot.jobs.get(name));
        expect(new Set(running.keys()), `diffs replay to the snapshot at step ${step}`).to.deep.equal(
          expectedNames,
        );
        for (const [name, def] of running) expect(def, name).to.equal(snapshot.jobs.get(name));
      }
    });
  }

  it('reports a role warning only while no node has the role', () => {
    const table = new ConfigTable('UTC');
    table.update('job', 'jobs.d/j.json', {
      ok: true,
      text: '{"policy": {"roles": ["db"]}, "command": ["x"]}',
    });
    expect(table.publish().snapshot.problems.map((p) => p.severity)).to.deep.equal(['warning']);
    table.update('node', 'nodes.d/n.json', {
      ok: true,
      text: '{"connection_type": "local", "roles": ["db"]}',
    });
    const { snapshot, diff } = table.publish();
    expect(snapshot.problems).to.deep.equal([]);
    expect(diff.nodes.added).to.deep.equal(['n']);
  });
});
