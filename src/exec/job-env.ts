/**
 * The environment a local run starts from. Never the daemon's own environment: it holds the
 * daemon's secrets (SMTP and Elasticsearch passwords, key passphrases), and whatever a job can
 * read it can print into SQLite, Elasticsearch and e-mail.
 */

/** Names copied from the daemon when it has them; everything else only through passthrough. */
export const BASE_ENV_NAMES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TZ'] as const;

const FALLBACKS: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/',
  SHELL: '/bin/sh',
  LANG: 'C.UTF-8',
};

/**
 * The fixed part of every local run's environment: the base names (from `daemonEnv`, else a
 * sensible default) and the names the operator opted in with `--env-passthrough`.
 */
export function baseEnvironment(
  daemonEnv: NodeJS.ProcessEnv,
  passthrough: readonly string[] = [],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...passthrough]) {
    const value = daemonEnv[name] ?? FALLBACKS[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The `DISTCRON_*` variables describing one run; they win over anything a job declares. */
export function runVariables(run: { runId: string; job: string; node: string }): Record<string, string> {
  return { DISTCRON_RUN_ID: run.runId, DISTCRON_JOB: run.job, DISTCRON_NODE: run.node };
}
