/**
 * Whether a member runs the leader's configuration (SPEC §15), judged at each heartbeat from
 * the hashes the members publish. A difference is reported only once it has lasted two
 * heartbeats in a row: right after an API write the members apply it within a poll or two, and
 * /healthz should not flap for that.
 */
export class ConfigMatch {
  private differs = 0;
  private last: { own: string | null; leader: string; leaderHash: string | null } | null = null;

  /** One heartbeat: the leader's id and published hash, or null when this member leads or no leader is known. */
  observe(own: string | null, leader: { id: string; hash: string | null } | null): void {
    if (leader === null || leader.hash === own) {
      this.differs = 0;
      this.last = null;
      return;
    }
    this.differs++;
    this.last = { own, leader: leader.id, leaderHash: leader.hash };
  }

  /** What to tell the operator, while the difference lasts. */
  problem(): string | undefined {
    if (this.differs < 2 || this.last === null) return undefined;
    const { own, leader, leaderHash } = this.last;
    return (
      `the configuration loaded here (hash ${own ?? 'none'}) differs from the leader ${leader}'s ` +
      `(hash ${leaderHash ?? 'none'}): deploy the same jobs.d and nodes.d files to every member ` +
      '(API writes are shared, files dropped by hand are not)'
    );
  }
}
