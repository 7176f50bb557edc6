import { expect } from 'chai';
import { parseJobText } from '../../../src/config/index.js';
import { marked } from './marked.js';

/** A valid job around `fields` (raw JSON members), so each case shows only what is wrong. */
const job = (fields: string): string => `{"policy": {"hosts": ["db1"]},\n ${fields}}`;
const withCommand = (fields: string): string => job(`"command": ["/bin/true"],\n ${fields}`);

interface Case {
  what: string;
  source: string;
  path: string;
  message: string;
}

const CASES: Case[] = [
  {
    what: 'invalid JSON (missing colon)',
    source: '{"command" ⟪["x"]}',
    path: '$',
    message: 'expected ":" after the property name',
  },
  {
    what: 'a trailing comma in an object',
    source: '{"command": ["x"]⟪,\n}',
    path: '$',
    message: 'trailing comma is not allowed',
  },
  {
    what: 'a trailing comma in an array',
    source: '{"command": ["x"⟪, ]}',
    path: '$',
    message: 'trailing comma is not allowed',
  },
  {
    what: 'a comment',
    source: '{"command": ["x"] ⟪// note\n}',
    path: '$',
    message: 'comments are not allowed in JSON',
  },
  { what: 'an empty file', source: '⟪', path: '$', message: 'file is empty' },
  { what: 'a truncated file', source: '{"command": ["x"⟪', path: '$', message: 'unexpected end of file' },
  {
    what: 'a second document after the first',
    source: '{"command": ["x"]}\n⟪{}',
    path: '$',
    message: 'unexpected content after the end',
  },
  {
    what: 'an array instead of an object',
    source: '⟪[1, 2]',
    path: '$',
    message: 'must be a JSON object (a job definition)',
  },
  {
    what: 'an unknown field with a close name',
    source: withCommand('⟪"comand": ["x"]'),
    path: '$.comand',
    message: 'unknown field "comand" — did you mean "command"?',
  },
  {
    what: 'a top-level field that belongs in policy',
    source: withCommand('⟪"roles": ["db"]'),
    path: '$.roles',
    message: 'it belongs inside "policy"',
  },
  {
    what: 'a duplicate field',
    source: withCommand('"tags": [], ⟪"tags": []'),
    path: '$.tags',
    message: 'duplicate field "tags"',
  },
  {
    what: 'a duplicate field beside a string holding an escaped quote and a colon',
    source: withCommand('"description": "say \\":\\" twice", "tags": [], ⟪"tags": []'),
    path: '$.tags',
    message: 'duplicate field "tags"',
  },
  {
    what: 'a number where a duration string belongs',
    source: withCommand('"timeout": ⟪30'),
    path: '$.timeout',
    message: '"timeout" must be a duration string, not the number 30',
  },
  {
    what: 'both command and shell_command',
    source: job('"command": ["x"], ⟪"shell_command": "x"'),
    path: '$.shell_command',
    message: 'exactly one of "command"',
  },
  {
    what: 'neither command nor shell_command',
    source: '⟪{"policy": {"hosts": ["db1"]}}',
    path: '$',
    message: 'missing "command"',
  },
  {
    what: 'an empty argv',
    source: job('"command": ⟪[]'),
    path: '$.command',
    message: '"command" must not be empty',
  },
  {
    what: 'a command given as a string',
    source: job('"command": ⟪"echo hi"'),
    path: '$.command',
    message: 'use "shell_command" for a shell string',
  },
  {
    what: 'a non-string argv entry',
    source: job('"command": ["echo", ⟪1]'),
    path: '$.command[1]',
    message: '"command"[1] must be a string',
  },
  {
    what: 'an empty shell_command',
    source: job('"shell_command": ⟪"  "'),
    path: '$.shell_command',
    message: 'must not be empty',
  },
  {
    what: 'a duration without unit',
    source: withCommand('"timeout": ⟪"5 minutes"'),
    path: '$.timeout',
    message: 'invalid duration "5 minutes"',
  },
  {
    what: 'a duration in days',
    source: withCommand('"timeout": ⟪"2d"'),
    path: '$.timeout',
    message: 'days are not a unit, use hours (e.g. "48h")',
  },
  {
    what: 'a bad cron expression',
    source: withCommand('"schedule": ⟪"61 * * * *"'),
    path: '$.schedule',
    message: 'schedule:',
  },
  {
    what: 'a bad cron inside the object form',
    source: withCommand('"schedule": {"cron": ⟪"* * * *", "timezone": "UTC"}'),
    path: '$.schedule.cron',
    message: 'schedule:',
  },
  {
    what: 'an unknown timezone',
    source: withCommand('"schedule": {"cron": "0 3 * * *", "timezone": ⟪"Mars/Olympus"}'),
    path: '$.schedule.timezone',
    message: 'unknown timezone "Mars/Olympus"',
  },
  {
    what: 'a bad fuzzy window',
    source: withCommand('"schedule": {"fuzzy": "daily", "window": ⟪"1-5"}'),
    path: '$.schedule.window',
    message: '"window" must look like "01:00-05:00"',
  },
  {
    what: 'an unknown fuzzy period',
    source: withCommand('"schedule": {"fuzzy": ⟪"monthly"}'),
    path: '$.schedule.fuzzy',
    message: 'invalid duration "monthly"',
  },
  {
    what: 'a bad interval reference',
    source: withCommand('"schedule": {"interval": "10m", "reference": ⟪"25:00"}'),
    path: '$.schedule.reference',
    message: '"reference" must be a time of day',
  },
  {
    what: 'two schedule kinds at once',
    source: withCommand('"schedule": ⟪{"cron": "@daily", "interval": "1h"}'),
    path: '$.schedule',
    message: 'give exactly one of',
  },
  {
    what: 'a field of another schedule kind',
    source: withCommand('"schedule": {"cron": "@daily", ⟪"window": "01:00-02:00"}'),
    path: '$.schedule.window',
    message: '"window" does not apply to a "cron" schedule',
  },
  {
    what: 'a one-off time without zone',
    source: withCommand('"schedule": {"at": ⟪"2026-12-01T10:00:00"}'),
    path: '$.schedule.at',
    message: 'ISO-8601 time with a zone',
  },
  {
    what: 'a schedule of the wrong type',
    source: withCommand('"schedule": ⟪42'),
    path: '$.schedule',
    message: 'must be a cron string',
  },
  {
    what: 'an @every without a valid duration',
    source: withCommand('"schedule": ⟪"@every 2d"'),
    path: '$.schedule',
    message: 'days are not a unit',
  },
  {
    what: 'a bad select',
    source: '{"policy": {"select": ⟪"one", "hosts": ["db1"]}, "command": ["x"]}',
    path: '$.policy.select',
    message: '"select" must be one of "any", "all", not "one"',
  },
  {
    what: 'a README hosts value contradicting select',
    source: '{"policy": {"select": "all", "hosts": ⟪"any", "roles": ["web"]}, "command": ["x"]}',
    path: '$.policy.hosts',
    message: 'contradicts "select": "all"',
  },
  {
    what: 'hosts and roles together',
    source: '{"policy": {"hosts": ["db1"], ⟪"roles": ["db"]}, "command": ["x"]}',
    path: '$.policy.roles',
    message: 'either "hosts" (node names) or "roles"',
  },
  {
    what: 'a policy that chooses nothing',
    source: '{"policy": ⟪{"select": "any"}, "command": ["x"]}',
    path: '$.policy',
    message: 'needs "hosts" (node names), "roles" or "labels"',
  },
  { what: 'a missing policy', source: '⟪{"command": ["x"]}', path: '$', message: 'missing "policy"' },
  {
    what: 'an empty hosts list',
    source: '{"policy": {"hosts": ⟪[]}, "command": ["x"]}',
    path: '$.policy.hosts',
    message: '"hosts" must not be empty',
  },
  {
    what: 'a bad placement',
    source: '{"policy": {"roles": ["db"], "placement": ⟪"fastest"}, "command": ["x"]}',
    path: '$.policy.placement',
    message: '"placement" must be one of',
  },
  {
    what: 'a zero max_parallel',
    source: '{"policy": {"select": "all", "roles": ["db"], "max_parallel": ⟪0}, "command": ["x"]}',
    path: '$.policy.max_parallel',
    message: 'must be from 1 to',
  },
  {
    what: 'a bad environment variable name',
    source: withCommand('"environment": {⟪"1FOO": "x"}'),
    path: '$.environment["1FOO"]',
    message: '"1FOO" is not a valid environment variable name',
  },
  {
    what: 'a non-string environment value',
    source: withCommand('"environment": {"PORT": ⟪5432}'),
    path: '$.environment.PORT',
    message: 'quote it: "5432"',
  },
  {
    what: 'an owner without e-mail',
    source: withCommand('"owners": [⟪{"name": "Ops"}]'),
    path: '$.owners[0]',
    message: 'owner has no "email_address"',
  },
  {
    what: 'an owner e-mail that is not an address',
    source: withCommand('"owners": [{"email_address": ⟪"ops"}]'),
    path: '$.owners[0].email_address',
    message: '"ops" is not an e-mail address',
  },
  {
    what: 'an owner e-mail under the wrong key',
    source: withCommand('"owners": [{⟪"email": "ops@example.com"}]'),
    path: '$.owners[0].email',
    message: 'write it as "email_address"',
  },
  {
    what: 'a webhook URL that is not http(s)',
    source: withCommand('"notify": {"webhooks": [{"url": ⟪"ftp://x.example/h"}]}'),
    path: '$.notify.webhooks[0].url',
    message: 'absolute http:// or https:// URL',
  },
  {
    what: 'a webhook with secret and secret_env',
    source: withCommand(
      '"notify": {"webhooks": [{"url": "https://x.example/h", "secret": "s", ⟪"secret_env": "S"}]}',
    ),
    path: '$.notify.webhooks[0].secret_env',
    message: 'either "secret" or "secret_env"',
  },
  {
    what: 'a bad webhook format',
    source: withCommand('"notify": {"webhooks": [{"url": "https://x.example/h", "format": ⟪"teams"}]}'),
    path: '$.notify.webhooks[0].format',
    message: '"format" must be one of "json", "slack"',
  },
  {
    what: 'an unknown notify event',
    source: withCommand('"notify": {"on": ["failure", ⟪"mised"]}'),
    path: '$.notify.on[1]',
    message: 'not "mised" — did you mean "missed"?',
  },
  {
    what: 'a too short reminder interval',
    source: withCommand('"notify": {"remind_every": ⟪"30s"}'),
    path: '$.notify.remind_every',
    message: 'must be at least',
  },
  {
    what: 'negative retries',
    source: withCommand('"retries": {"count": ⟪-1, "delay": "1m"}'),
    path: '$.retries.count',
    message: '"count" must be from 0 to 100, not -1',
  },
  {
    what: 'retries without count',
    source: withCommand('"retries": ⟪{"delay": "1m"}'),
    path: '$.retries',
    message: '"retries" needs "count"',
  },
  {
    what: 'a fractional retry count',
    source: withCommand('"retries": {"count": ⟪1.5}'),
    path: '$.retries.count',
    message: 'must be a whole number',
  },
  {
    what: 'a bad overlap',
    source: withCommand('"overlap": ⟪"skipp"'),
    path: '$.overlap',
    message: 'not "skipp" — did you mean "skip"?',
  },
  {
    what: 'a bad catch_up',
    source: withCommand('"catch_up": ⟪"none"'),
    path: '$.catch_up',
    message: '"catch_up" must be one of "skip", "latest", "all"',
  },
  {
    what: 'a string for rerun_lost',
    source: withCommand('"rerun_lost": ⟪"yes"'),
    path: '$.rerun_lost',
    message: '"rerun_lost" must be true or false',
  },
  {
    what: 'a string for enabled',
    source: withCommand('"enabled": ⟪"yes"'),
    path: '$.enabled',
    message: '"enabled" must be true or false',
  },
  {
    what: 'a NUL byte in an argument',
    source: job('"command": ["echo", ⟪"a\\u0000b"]'),
    path: '$.command[1]',
    message: '"command"[1] must not contain a NUL character',
  },
  {
    what: 'a NUL byte in an environment value',
    source: withCommand('"environment": {"A": ⟪"\\u0000"}'),
    path: '$.environment.A',
    message: '"A" must not contain a NUL character',
  },
  {
    what: 'a tag that is not a string',
    source: withCommand('"tags": ["a", ⟪null]'),
    path: '$.tags[1]',
    message: 'must be a string, not null',
  },
  {
    what: 'an empty program in argv',
    source: job('"command": [⟪"", "-x"]'),
    path: '$.command[0]',
    message: '"command[0]" (the program) must not be empty',
  },
  {
    what: 'a parameter named after a loader variable',
    source: withCommand('"parameters": {⟪"LD_PRELOAD": {}}'),
    path: '$.parameters.LD_PRELOAD',
    message: 'LD_* variables are read by the loader',
  },
  {
    what: 'a parameter named PATH',
    source: withCommand('"parameters": {⟪"PATH": {"default": "/bin"}}'),
    path: '$.parameters.PATH',
    message: '"PATH" cannot be a parameter',
  },
  {
    what: 'a parameter in the DISTCRON_ namespace',
    source: withCommand('"parameters": {⟪"DISTCRON_JOB": {}}'),
    path: '$.parameters.DISTCRON_JOB',
    message: 'DISTCRON_* variables',
  },
  {
    what: 'a parameter name that is not an environment name',
    source: withCommand('"parameters": {⟪"1X": {}}'),
    path: '$.parameters["1X"]',
    message: '"1X" is not a valid parameter name',
  },
  {
    what: 'an unknown parameter rule',
    source: withCommand('"parameters": {"N": {⟪"regex": "^a$"}}'),
    path: '$.parameters.N.regex',
    message: 'write it as "pattern"',
  },
  {
    what: 'a parameter pattern that is not a regular expression',
    source: withCommand('"parameters": {"N": {"pattern": ⟪"([a-z"}}'),
    path: '$.parameters.N.pattern',
    message: '"pattern" is not a valid regular expression',
  },
  {
    what: 'a parameter default outside its enum',
    source: withCommand('"parameters": {"T": {"enum": ["db1", "db2"], "default": ⟪"db3"}}'),
    path: '$.parameters.T.default',
    message: '"default" must be one of "db1", "db2"',
  },
  {
    what: 'a parameter default not matching its pattern',
    source: withCommand('"parameters": {"C": {"pattern": "^[0-9]+$", "default": ⟪"ten"}}'),
    path: '$.parameters.C.default',
    message: '"default" must match the pattern ^[0-9]+$',
  },
  {
    what: 'a parameter default longer than max_length',
    source: withCommand('"parameters": {"C": {"max_length": 2, "default": ⟪"abc"}}'),
    path: '$.parameters.C.default',
    message: '"default" must be at most 2 characters long',
  },
  {
    what: 'a parameter type other than string',
    source: withCommand('"parameters": {"C": {"type": ⟪"int"}}'),
    path: '$.parameters.C.type',
    message: '"type" must be "string"',
  },
  {
    what: 'a required parameter without default on a scheduled job',
    source: withCommand('"schedule": "@every 1h", "parameters": ⟪{"C": {"required": true}}'),
    path: '$.parameters',
    message: 'parameter C is required and has no "default"',
  },
];

describe('config: bad job definitions', () => {
  it('has at least 50 distinct cases', () => {
    expect(new Set(CASES.map((c) => c.source)).size).to.equal(CASES.length);
    expect(CASES.length).to.be.at.least(50);
  });

  for (const c of CASES) {
    it(`reports ${c.what} at its exact place`, () => {
      const { text, line, column } = marked(c.source);
      const { job, problems } = parseJobText('jobs.d/bad.json', text, { defaultTimezone: 'UTC' });
      expect(job, 'no job from a bad file').to.equal(undefined);
      const hit = problems.find((p) => p.message.includes(c.message));
      expect(hit, `a problem saying ${c.message}; got ${JSON.stringify(problems)}`).to.not.equal(undefined);
      expect({
        line: hit!.line,
        column: hit!.column,
        path: hit!.path,
        severity: hit!.severity,
      }).to.deep.equal({
        line,
        column,
        path: c.path,
        severity: 'error',
      });
      expect(hit!.file).to.equal('jobs.d/bad.json');
    });
  }
});
