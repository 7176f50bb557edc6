/**
 * An integration suite whose real component cannot be had prints a loud SKIPPED line; under
 * CI=true that is a failure instead (a skipped suite must never look green in CI).
 */
export function skipSuite(ctx: Mocha.Context, suite: string, reason: string): never {
  const line = `\n!!!!! SKIPPED integration suite "${suite}": ${reason} !!!!!\n`;
  if (process.env.CI === 'true') throw new Error(`CI=true: refusing to skip ${suite}: ${reason}`);
  process.stderr.write(line);
  ctx.skip();
}
