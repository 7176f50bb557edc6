import { readdirSync, readFileSync } from 'node:fs';

/**
 * Sends `signal` to every process of the group. False when the group no longer exists
 * (ESRCH) or cannot be signalled; never throws.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while some process of the group is still running. Zombies do not count: where PID 1 does
 * not reap orphans (containers, microVMs), an orphaned grandchild stays a zombie in the group
 * for good, and `kill(-pgid, 0)` would report the group alive forever.
 */
export function groupHasLiveMembers(pgid: number): boolean {
  // kill(-pgid, 0) is one syscall: when the group is gone (the usual case after SIGKILL), the
  // scan of every process in /proc is not needed at all.
  if (!signalGroup(pgid, 0)) return false;
  const viaProc = liveMembersFromProc(pgid);
  return viaProc ?? true;
}

/** While a group is being killed, how long to wait before each next check: 25 ms doubling to 1 s. */
export function reapPollDelayMs(attempt: number): number {
  return Math.min(1000, 25 * 2 ** Math.min(attempt, 6));
}

/** Scans /proc (Linux); null when there is no /proc to read. */
function liveMembersFromProc(pgid: number): boolean | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/** `/proc/<pid>/stat` is "pid (comm) state ppid pgrp ..."; comm may itself contain ") ". */
function readStat(pid: string): { state: string; pgrp: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return null; // the process ended while we looked
  }
}
