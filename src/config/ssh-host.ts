/** `ssh_host` values: `host`, `host:port`, `[v6addr]:port`, `[v6addr]`, or a bare IPv6 address. Pure. */

export const DEFAULT_SSH_PORT = 22;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

export type SshAddress = { host: string; port: number } | { error: string };

export function parseSshHost(value: string): SshAddress {
  const text = value.trim();
  if (text.startsWith('[')) return bracketed(text);
  const colons = text.split(':').length - 1;
  if (colons > 1) return IPV6.test(text) ? { host: text, port: DEFAULT_SSH_PORT } : invalid(value);
  const [host, portText] = colons === 1 ? text.split(':') : [text, undefined];
  if (!host || !HOSTNAME.test(host)) return invalid(value);
  return withPort(host, portText, value);
}

function bracketed(text: string): SshAddress {
  const match = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (!match || !IPV6.test(match[1]!) || !match[1]!.includes(':')) return invalid(text);
  return withPort(match[1]!, match[2], text);
}

function withPort(host: string, portText: string | undefined, original: string): SshAddress {
  if (portText === undefined) return { host, port: DEFAULT_SSH_PORT };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535))
    return { error: `"${original}" has an invalid port "${portText}"; use a number from 1 to 65535` };
  return { host, port };
}

function invalid(original: string): SshAddress {
  return { error: `"${original}" is not "host", "host:port" or "[ipv6]:port"` };
}
