import {
  EsApi,
  describeEsError,
  type EsAuth,
  type EsConnectionOptions,
  type TemplateInstall,
} from '../report/es-api.js';
import { INDEX_TEMPLATE_NAME } from '../report/template.js';

/** The Elasticsearch flags of `distcron daemon` and `distcron es-setup` (commander's camelCase). */
export interface EsFlags {
  esUrl?: string;
  esApiKey?: string;
  esUsername?: string;
  esPassword?: string;
  esCaFile?: string;
}

/**
 * Flags win over the environment: ELASTICSEARCH_URL, ELASTICSEARCH_API_KEY,
 * ELASTICSEARCH_USERNAME, ELASTICSEARCH_PASSWORD, ELASTICSEARCH_CA_FILE (each also as
 * DISTCRON_ES_*). Secrets belong in the environment: a flag shows up in `ps`.
 * Returns undefined when no URL is set (Elasticsearch is optional).
 */
export function esConnectionFrom(
  flags: EsFlags,
  env: NodeJS.ProcessEnv = process.env,
): EsConnectionOptions | undefined {
  const pick = (flag: string | undefined, name: string) =>
    flag ?? env[`DISTCRON_ES_${name}`] ?? env[`ELASTICSEARCH_${name}`] ?? undefined;
  const url = pick(flags.esUrl, 'URL');
  if (!url) return undefined;
  const apiKey = pick(flags.esApiKey, 'API_KEY');
  const username = pick(flags.esUsername, 'USERNAME');
  const password = pick(flags.esPassword, 'PASSWORD');
  if (username !== undefined && password === undefined)
    throw new Error('es: --es-username needs a password (set ELASTICSEARCH_PASSWORD)');
  let auth: EsAuth | undefined;
  if (apiKey) auth = { apiKey };
  else if (username !== undefined && password !== undefined) auth = { username, password };
  return { url, auth, caFile: pick(flags.esCaFile, 'CA_FILE') };
}

export interface EsSetupResult {
  template: typeof INDEX_TEMPLATE_NAME;
  result: TemplateInstall;
  apiCompatibility: 8 | 9;
}

/** `distcron es-setup`: installs (or upgrades) the index template once and reports what it did. */
export async function runEsSetup(connection: EsConnectionOptions): Promise<EsSetupResult> {
  const api = new EsApi(connection);
  try {
    const result = await api.installTemplate();
    return { template: INDEX_TEMPLATE_NAME, result, apiCompatibility: api.apiCompatibility };
  } catch (err) {
    throw new Error(
      `es: cannot install the index template at ${safeUrl(connection.url)}: ${describeEsError(err)}`,
    );
  } finally {
    await api.close();
  }
}

/** The URL without any user:password part, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
