#!/usr/bin/env node
import { Command, Option } from 'commander';
import { DAEMON_FLAGS, envName, resolveDaemonOptions } from './daemon-flags.js';
import { runDaemon } from './daemon-command.js';
import { addClientCommands, addConfigCommands } from './commands.js';
import { runNext } from './next-command.js';

const program = new Command('distcron')
  .description('Agentless SSH orchestration daemon: cron for a fleet')
  .version('0.1.0')
  .showHelpAfterError();

const daemon = program.command('daemon').description('run the scheduler, executors and REST API');
for (const spec of DAEMON_FLAGS.filter((s) => !s.envOnly)) {
  const usage = spec.switch ? `--${spec.flag}` : `--${spec.flag} <value>`;
  daemon.addOption(new Option(usage, `${spec.help} [env ${envName(spec.flag)}]`));
}
daemon.action(async (flags: Record<string, string | boolean | undefined>) => {
  process.exitCode = await runDaemon(resolveDaemonOptions(flags, process.env));
});

program
  .command('next')
  .description('print the next fire times of a job')
  .argument('<job>', 'job name')
  .option('-n, --count <n>', 'how many', '5')
  .option('--jobs-dir <dir>', 'directory of job definitions')
  .option('--nodes-dir <dir>', 'directory of node definitions')
  .option('--timezone <zone>', 'IANA zone for schedules that name none')
  .option('--api <url>', 'daemon API asked what a dependent job waits for [env DISTCRON_API]')
  .option('--json', 'machine-readable output')
  .action(async (job: string, flags: Record<string, string | boolean | undefined>) => {
    const { api, ...rest } = flags;
    const options = resolveDaemonOptions(stringFlags(rest), process.env);
    const url = (api as string | undefined) ?? process.env.DISTCRON_API ?? 'http://127.0.0.1:8080';
    process.exitCode = await runNext({
      ...options,
      job,
      count: Number(flags.count),
      json: flags.json === true,
      target: { api: url, token: process.env.DISTCRON_TOKEN },
    });
  });

addConfigCommands(program);
addClientCommands(program);

function stringFlags(
  flags: Record<string, string | boolean | undefined>,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 2;
});
