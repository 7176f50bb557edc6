import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { resourcesDirOf, withDefaults } from '../daemon/options.js';
import { listRuns, runRemote } from './client.js';
import { collectRoles, labelsOf, runExec, UsageError } from './exec-command.js';
import { resolveDaemonOptions } from './daemon-flags.js';
import { collectNodes, collectPairs, distinctNodes, parsePairs } from './run-flags.js';
import { runValidate } from './validate.js';

type Flags = Record<string, string | boolean | string[] | undefined>;

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Where the client commands find the daemon: --api / DISTCRON_API, token from DISTCRON_TOKEN only. */
function apiTarget(flags: Flags) {
  const api = (flags.api as string | undefined) ?? process.env.DISTCRON_API ?? 'http://127.0.0.1:8080';
  return { api, token: process.env.DISTCRON_TOKEN };
}

function configFlags(cmd: Command): Command {
  return cmd
    .option('--jobs-dir <dir>', 'directory of job definitions [env DISTCRON_JOBS_DIR]')
    .option('--nodes-dir <dir>', 'directory of node definitions [env DISTCRON_NODES_DIR]')
    .option('--resources-dir <dir>', 'directory of resource pools [env DISTCRON_RESOURCES_DIR]')
    .option('--timezone <zone>', 'IANA zone for schedules that name none [env DISTCRON_TIMEZONE]');
}

function stringFlags(flags: Flags): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
}

export function addConfigCommands(program: Command): void {
  configFlags(
    program
      .command('validate')
      .description('check jobs.d and nodes.d; problems as file:line:column: message'),
  )
    .option('--json', 'machine-readable output')
    .action(async (flags: Flags) => {
      const o = withDefaults(resolveDaemonOptions(stringFlags(flags), process.env));
      const code = await runValidate({
        jobsDir: o.jobsDir,
        nodesDir: o.nodesDir,
        resourcesDir: resourcesDirOf(o),
        defaultTimezone: o.timezone,
        json: flags.json === true,
        out,
      });
      process.exitCode = code;
    });

  configFlags(
    program.command('keyscan').description('record the current host keys of ssh nodes in known_hosts'),
  )
    .argument('<node...>', 'node names')
    .option('--known-hosts <file>', 'known_hosts file to update [env DISTCRON_KNOWN_HOSTS]')
    .action(async (names: string[], flags: Flags) => {
      const o = withDefaults(resolveDaemonOptions(stringFlags(flags), process.env));
      const config = await loadConfig({
        jobsDir: o.jobsDir,
        nodesDir: o.nodesDir,
        defaultTimezone: o.timezone,
      });
      const missing = names.filter((n) => !config.nodes.has(n));
      if (missing.length) throw new Error(`distcron: no such node: ${missing.join(', ')}`);
      if (!o.knownHostsFile) throw new Error('distcron: keyscan needs --known-hosts FILE');
      const nodes = names.map((n) => config.nodes.get(n)!);
      // Loaded on use: ssh2 would otherwise load on every CLI start, the daemon's included.
      const { runKeyscan } = await import('./keyscan.js');
      process.exitCode = await runKeyscan({
        nodes,
        knownHostsFile: o.knownHostsFile,
        connectTimeoutMs: o.sshConnectTimeoutMs,
        out: process.stdout,
      });
    });

  program
    .command('es-setup')
    .description('install or upgrade the Elasticsearch index template')
    .option('--es-url <url>', 'Elasticsearch URL [env ELASTICSEARCH_URL]')
    .option('--es-username <user>', 'Elasticsearch user (password from ELASTICSEARCH_PASSWORD)')
    .option('--es-ca-file <file>', 'CA certificate for TLS')
    .action(async (flags: Flags) => {
      // Loaded on use: the Elasticsearch client costs ~0.8 s of CPU to import (every CLI start).
      const { esConnectionFrom, runEsSetup, safeUrl } = await import('./es-setup.js');
      const connection = esConnectionFrom(stringFlags(flags));
      if (!connection) throw new Error('distcron: es-setup needs --es-url or ELASTICSEARCH_URL');
      const result = await runEsSetup(connection);
      out(`${safeUrl(connection.url)}: index template ${result.template} ${JSON.stringify(result.result)}`);
    });
}

export function addClientCommands(program: Command): void {
  program
    .command('run')
    .description('run a job now through the API, wait, print its output, exit with its code')
    .argument('<job>', 'job name')
    .option('--node <node>', 'run on exactly this node (repeat, or a,b, for several)', collectNodes)
    .option('--param <NAME=VALUE>', 'a value for a parameter the job declares (repeatable)', collectPairs)
    .option('--env <NAME=VALUE>', 'old name of --param (declared parameters only)', collectPairs)
    .option('--api <url>', 'daemon API base URL [env DISTCRON_API]')
    .option('--json', 'print the final run as JSON')
    .option('-f, --follow', 'print the output as it comes ("NODE | " lines when several nodes run it)')
    .action(async (job: string, flags: Flags) => {
      const given = [
        ...((flags.env as string[] | undefined) ?? []),
        ...((flags.param as string[] | undefined) ?? []),
      ];
      process.exitCode = await runRemote({
        ...apiTarget(flags),
        job,
        nodes: distinctNodes(flags.node as string[] | undefined),
        parameters: parsePairs('--param', given),
        json: flags.json === true,
        follow: flags.follow === true,
        out,
        err,
      });
    });

  program
    .command('exec')
    .description(
      'run a command once on the selected nodes (admin token); prints "NODE | " lines, exits 1 if any host failed',
    )
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--role <role>', 'nodes with this role (repeat, or a,b, for several)', collectRoles)
    .option('--label <K=V>', 'only nodes with this label (repeatable)', collectPairs)
    .option('--node <node>', 'exactly this node (repeat, or a,b, for several)', collectNodes)
    .option('--all', 'run on every selected node (the default)')
    .option('--any', "run on one selected node, chosen like a job's (least loaded)")
    .option('--timeout <duration>', "kill the command after this long, e.g. 30s (default: the daemon's)")
    .option('--run-as <user>', 'run through sudo -n -u USER')
    .option('--shell', 'run the words, joined by spaces, as a /bin/sh -c command line')
    .option('--api <url>', 'daemon API base URL [env DISTCRON_API]')
    .option('--json', 'print the final runs as JSON')
    .action(async (words: string[], flags: Flags) => {
      if (flags.all === true && flags.any === true)
        throw new UsageError('distcron exec: give --all or --any, not both');
      process.exitCode = await runExec({
        ...apiTarget(flags),
        words,
        roles: flags.role as string[] | undefined,
        labels: labelsOf(flags.label as string[] | undefined),
        nodes: flags.node as string[] | undefined,
        select: flags.any === true ? 'any' : 'all',
        timeout: flags.timeout as string | undefined,
        runAs: flags.runAs as string | undefined,
        shell: flags.shell === true,
        json: flags.json === true,
        out,
        err,
      });
    });

  program
    .command('logs')
    .description("print a run's output (stdout and stderr); -f: follow it as it comes until the run ends")
    .argument('<run>', 'run id')
    .option('-f, --follow', 'keep printing until the run ends; exit with its code')
    .option('--api <url>', 'daemon API base URL [env DISTCRON_API]')
    .action(async (id: string, flags: Flags) => {
      const { runLogs } = await import('./follow.js');
      process.exitCode = await runLogs({ ...apiTarget(flags), id, follow: flags.follow === true, out, err });
    });

  program
    .command('runs')
    .description('list recent runs')
    .option('--job <job>', 'only this job')
    .option('--node <node>', 'only this node')
    .option('--status <status>', 'only this status')
    .option('--trigger <trigger>', 'only this trigger (schedule, catch_up, manual, retry, adhoc)')
    .option('--limit <n>', 'how many', '50')
    .option('--api <url>', 'daemon API base URL [env DISTCRON_API]')
    .option('--json', 'machine-readable output')
    .action(async (flags: Flags) => {
      process.exitCode = await listRuns({
        ...apiTarget(flags),
        job: flags.job as string | undefined,
        node: flags.node as string | undefined,
        status: flags.status as string | undefined,
        trigger: flags.trigger as string | undefined,
        limit: Number(flags.limit),
        json: flags.json === true,
        out,
        err,
      });
    });
}
