/**
 * The order in which each job last used each node: `least_loaded` sends ties to the node the job
 * used least recently (SPEC §6). An order, not a time: runs placed in the same millisecond (an
 * `all` fan-out, a manual clock) still have a strict order.
 */
export class PlacementHistory {
  private sequence = 0;
  private readonly byJob = new Map<string, Map<string, number>>();

  note(job: string, node: string): void {
    let nodes = this.byJob.get(job);
    if (!nodes) {
      nodes = new Map();
      this.byJob.set(job, nodes);
    }
    nodes.set(node, ++this.sequence);
  }

  /** Higher is more recent; 0 = the job never ran there. */
  lastUse(job: string, node: string): number {
    return this.byJob.get(job)?.get(node) ?? 0;
  }
}
