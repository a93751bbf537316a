// Where `quorumd ctl` finds the cluster and which credentials it presents:
// read like a node reads its own settings (src/config.ts), so that on a
// node's host, with its environment or its config file, the tool just works.
// Each value comes from the first of: the command line, the node's QUORUMD_*
// variable, the node's JSON config file (--config or QUORUMD_CONFIG), the
// default. The token is the shared token or an operator token; the TLS files
// are the cluster CA (to trust https members) and, optionally, a client
// certificate to present.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { CONFIG_ENV, DEFAULT_LISTEN, NodeSettings, SETTINGS, parseListen, urlFromListen } from '../config.js';
import type { CommonOptions } from './args.js';

/** How to reach the cluster: a member's url, the bearer token (or none), and the TLS material (or none). */
export interface Connection {
  readonly url: string;
  readonly token: string | null;
  readonly tls: { readonly ca: string; readonly cert?: string; readonly key?: string } | null;
  readonly timeoutMs: number;
}

/** Settings that cannot be used; the message is one line. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** The node settings the tool reads, by their key in src/config.ts. */
type Key = 'url' | 'listen' | 'token' | 'operatorTokens' | 'tlsCa' | 'tlsCert' | 'tlsKey';

/** envOf is the node's variable for a setting: one name per setting, the node's. */
function envOf(key: Key): string {
  const spec = SETTINGS.find((s) => s.key === key);
  if (!spec) throw new Error(`no setting ${key}`);
  return spec.env;
}

/** fromEnv reads a variable as the node does: an empty one counts as unset. */
function fromEnv(env: Env, key: Key): string | undefined {
  const v = env[envOf(key)];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * resolveConnection settles the url, token and TLS material. `readFile`
 * reads the config, token and TLS files; `cwd` resolves their relative paths.
 */
export function resolveConnection(
  options: CommonOptions,
  env: Env,
  io: { readonly readFile?: (path: string) => string; readonly cwd?: string } = {},
): Connection {
  const cwd = io.cwd ?? process.cwd();
  const read = (path: string, what: string): string => {
    const full = resolve(cwd, path);
    try {
      return (io.readFile ?? ((p) => readFileSync(p, 'utf8')))(full);
    } catch (err) {
      throw new SettingsError(`${what} ${full} cannot be read: ${(err as Error).message}`);
    }
  };
  const configPath = options.config ?? (env[CONFIG_ENV] || undefined);
  const file = configPath === undefined ? {} : configFile(read(configPath, 'the config file'), resolve(cwd, configPath));

  const listen = file.listen === undefined ? null : parseListen(file.listen);
  const url = options.url ?? fromEnv(env, 'url') ?? file.url ?? urlFromListen(listen ?? parseListen(DEFAULT_LISTEN)!);
  let token: string | null = null;
  if (options.token !== undefined) token = options.token;
  else if (options.tokenFile !== undefined) token = firstLine(read(options.tokenFile, 'the token file'), options.tokenFile);
  else token = fromEnv(env, 'token') ?? fromEnv(env, 'operatorTokens')?.split(',')[0]?.trim() ?? file.token ?? file.operatorTokens?.[0] ?? null;

  const caPath = options.tlsCa ?? fromEnv(env, 'tlsCa') ?? file.tlsCa;
  const certPath = options.tlsCert ?? fromEnv(env, 'tlsCert') ?? file.tlsCert;
  const keyPath = options.tlsKey ?? fromEnv(env, 'tlsKey') ?? file.tlsKey;
  if (url.startsWith('https:') && caPath === undefined) {
    throw new SettingsError(`${url} is an https url: give the cluster CA with --tls-ca (or ${envOf('tlsCa')})`);
  }
  const tls =
    caPath === undefined
      ? null
      : {
          ca: read(caPath, 'the CA file'),
          ...(certPath !== undefined && keyPath !== undefined ? { cert: read(certPath, 'the certificate file'), key: read(keyPath, 'the key file') } : {}),
        };
  return { url: url.replace(/\/+$/, ''), token, tls, timeoutMs: options.timeoutMs };
}

/** The settings of a node's config file the tool uses, each checked against the node's own schema. */
function configFile(text: string, path: string): { [K in Key]?: K extends 'operatorTokens' ? string[] : string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`the config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SettingsError(`the config file ${path} must hold a JSON object of settings`);
  const out: Record<string, unknown> = {};
  for (const key of ['url', 'listen', 'token', 'operatorTokens', 'tlsCa', 'tlsCert', 'tlsKey'] as const) {
    const value = (parsed as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const schema = NodeSettings.properties[key];
    if (!Value.Check(schema, value)) {
      throw new SettingsError(`"${key}" in the config file ${path} must be ${typeof schema.description === 'string' ? schema.description : 'valid'}`);
    }
    out[key] = value;
  }
  return out;
}

function firstLine(text: string, path: string): string {
  const line = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (line === '') throw new SettingsError(`the token file ${path} is empty`);
  return line;
}
