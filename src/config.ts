// A node's configuration: one TypeBox schema, filled from command-line flags,
// QUORUMD_* environment variables and an optional JSON config file, in that
// order of precedence, then defaults. Every bad value becomes one problem that
// names the setting where it came from (the flag, the variable or the file
// key) and says what it must be. Nothing here touches the disk except reading
// the config file, so tests call resolveConfig() and checkEnv() directly.

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Type, type Static, type TLiteral, type TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_TIMINGS, shapeProblems, validateTimings, type Member, type MemberKind, type Timings } from './core/index.js';
import { ID_DESCRIPTION, ID_PATTERN, MAX_MEMBERS, URL_DESCRIPTION, URL_MAX_LENGTH, URL_PATTERN } from './schemas.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LISTEN = '127.0.0.1:7400';
export const DEFAULT_ROLE_CHANGE_TIMEOUT_MS = 10_000;
export const DEFAULT_PRE_PROMOTE_TIMEOUT_MS = 5_000;
export const MIN_TOKEN_LENGTH = 16;
/** How many tokens a role list, or digests a member's entry, may hold: enough for a rotation or two at once. */
export const MAX_CREDENTIALS = 16;
/** The cluster name a node bootstraps with when none is set. */
export const DEFAULT_CLUSTER_NAME = 'quorumd';

// A cluster id is the name, "-" and 12 hex digits (runtime/bootstrap.ts), and
// must itself be an id on the wire: so a name may take 64 - 13 characters.
const CLUSTER_NAME_PATTERN = '^[A-Za-z0-9._-]{1,51}$';
const CLUSTER_ID_PATTERN = '^[A-Za-z0-9._-]{1,51}-[0-9a-f]{12}$';

const TOKEN_PATTERN = `^[\\x21-\\x7e]{${MIN_TOKEN_LENGTH},1024}$`;
const TOKEN_DESCRIPTION = `${MIN_TOKEN_LENGTH} to 1024 visible ASCII characters (no spaces)`;
const tokenSchema = () => Type.String({ pattern: TOKEN_PATTERN, description: TOKEN_DESCRIPTION });
const tokenList = () =>
  Type.Array(tokenSchema(), {
    minItems: 1,
    maxItems: MAX_CREDENTIALS,
    description: `a list of 1 to ${MAX_CREDENTIALS} tokens, each ${TOKEN_DESCRIPTION}`,
  });

/** The form of a peer token's verifier: its SHA-256 digest in hex, as `sha256sum` prints it. */
export const DIGEST_PATTERN = '^sha256:[0-9a-fA-F]{64}$';

/** peerDigest is the verifier of a peer token, in the form peerCredentials lists it. */
export function peerDigest(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** isLoopback says whether a listen host can only be reached from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const oneOf = (values: readonly string[]) =>
  `one of ${values
    .map((v) => `"${v}"`)
    .join(', ')
    .replace(/, ([^,]*)$/, ' and $1')}`;

function literals<const T extends readonly string[]>(values: T) {
  return Type.Union(values.map((v) => Type.Literal(v)) as Array<TLiteral<T[number]>>, { description: oneOf(values) });
}

const millis = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max, description: `a whole number of milliseconds from ${min} to ${max}` });

const MemberSetting = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN, description: ID_DESCRIPTION }),
    url: Type.String({ pattern: URL_PATTERN, maxLength: URL_MAX_LENGTH, description: URL_DESCRIPTION }),
    kind: literals(['data', 'witness'] as const),
    state: Type.Optional(literals(['voting', 'catching_up'] as const)),
  },
  { additionalProperties: false, description: 'an object {"id", "url", "kind", "state"?}' },
);

/**
 * NodeSettings is the one schema of a node's configuration, in the shape of
 * the config file. Flags and variables are strings: integers and the member
 * list are parsed from them first, then everything is checked here.
 */
export const NodeSettings = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN, description: ID_DESCRIPTION }),
    kind: literals(['data', 'witness'] as const),
    listen: Type.String({
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
      description: 'host:port, such as 127.0.0.1:7400, 0.0.0.0:7400 or [::]:7400',
    }),
    url: Type.Optional(Type.String({ pattern: URL_PATTERN, maxLength: URL_MAX_LENGTH, description: URL_DESCRIPTION })),
    members: Type.Optional(
      Type.Array(MemberSetting, {
        minItems: 1,
        maxItems: MAX_MEMBERS,
        description: `a JSON array of 1 to ${MAX_MEMBERS} members, each {"id", "url", "kind"} with an optional "state" ("voting" or "catching_up")`,
      }),
    ),
    clusterName: Type.String({
      pattern: CLUSTER_NAME_PATTERN,
      description: '1 to 51 characters of A-Z, a-z, 0-9, ".", "_" and "-" (the cluster id adds "-" and 12 hex digits, up to the 64 of an id)',
    }),
    join: Type.Optional(
      Type.String({
        pattern: CLUSTER_ID_PATTERN,
        description: 'a cluster id as GET /status shows it: the cluster name, "-" and 12 lower-case hex digits, such as quorumd-3f2a9c1b7d4e',
      }),
    ),
    dataDir: Type.String({ minLength: 1, description: 'a directory path' }),
    token: Type.Optional(tokenSchema()),
    peerToken: Type.Optional(tokenSchema()),
    peerCredentials: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Array(Type.String({ pattern: DIGEST_PATTERN, description: '"sha256:" followed by 64 hex digits' }), {
          minItems: 1,
          maxItems: MAX_CREDENTIALS,
          description: `a list of 1 to ${MAX_CREDENTIALS} digests, each "sha256:<64 hex digits>"`,
        }),
        { description: 'a JSON object from each member id to the list of its accepted peer token digests, each "sha256:<64 hex digits>"' },
      ),
    ),
    agentTokens: Type.Optional(tokenList()),
    operatorTokens: Type.Optional(tokenList()),
    tlsCert: Type.Optional(Type.String({ minLength: 1, description: 'a file path' })),
    tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'a file path' })),
    tlsCa: Type.Optional(Type.String({ minLength: 1, description: 'a file path' })),
    insecure: literals(['on', 'off'] as const),
    heartbeatMs: millis(1, 60_000),
    leaseMs: millis(2, 600_000),
    electionTimeoutMs: millis(2, 600_000),
    electionJitterMs: millis(0, 600_000),
    onRoleChange: Type.Optional(Type.String({ minLength: 1, description: 'a shell command' })),
    onRoleChangeUrl: Type.Optional(Type.String({ minLength: 1, pattern: '^https?://', description: 'an http or https url' })),
    roleChangeTimeoutMs: millis(1, 3_600_000),
    prePromote: Type.Optional(Type.String({ minLength: 1, description: 'a shell command' })),
    prePromoteTimeoutMs: millis(1, 3_600_000),
    logLevel: literals(LOG_LEVELS),
    fastFailover: literals(['on', 'off'] as const),
  },
  { additionalProperties: false },
);

export type Settings = Static<typeof NodeSettings>;
type Key = keyof Settings;

/** The checked configuration the command starts a node from. */
export interface NodeConfig {
  readonly id: string;
  readonly kind: MemberKind;
  readonly listen: { readonly host: string; readonly port: number };
  /** The URL peers reach this node at. */
  readonly url: string;
  /**
   * The members the settings list: the cluster's first configuration, written
   * only on the first start of an empty data folder. This node alone when no
   * list is given; when joining, the list as given (maybe empty, maybe without
   * this node), only ever compared with the configuration the cluster sends.
   */
  readonly members: readonly Member[];
  /** The name a new cluster's id starts with (runtime/bootstrap.ts initialConfig). */
  readonly clusterName: string;
  /** Join mode: the id of the cluster whose configuration this node waits for, instead of making one; null otherwise. */
  readonly joinClusterId: string | null;
  /** Absolute. */
  readonly dataDir: string;
  /** The shared token every role presents (the shared-token mode); null when not configured. */
  readonly token: string | null;
  /** This node's own peer credential, sent on every peer request; null without per-member credentials. */
  readonly peerToken: string | null;
  /** Each member's accepted peer token digests ("sha256:<hex>", lower case); null without per-member credentials. */
  readonly peerCredentials: Readonly<Record<string, readonly string[]>> | null;
  /** The tokens accepted on PUT /log. */
  readonly agentTokens: readonly string[];
  /** The tokens accepted on POST /switchover. */
  readonly operatorTokens: readonly string[];
  /** The mutual TLS material, read from the configured files; null without TLS. */
  readonly tls: TlsMaterial | null;
  /** Whether the operator accepted serving a non-loopback address without any credentials. */
  readonly insecure: boolean;
  readonly timings: Timings;
  readonly onRoleChange: string | null;
  readonly onRoleChangeUrl: string | null;
  readonly roleChangeTimeoutMs: number;
  readonly prePromote: string | null;
  readonly prePromoteTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Whether a refused connection to the primary's port makes followers probe at once. */
  readonly fastFailover: boolean;
}

/** A node's TLS material: its own certificate and key, and the cluster CA bundle, in PEM, with the paths they came from. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

/**
 * The URI subject alternative name that binds a certificate to a member:
 * `quorumd:member:<id>`. A member's certificate carries exactly one; the
 * subject's CN is not looked at.
 */
export const MEMBER_URI_PREFIX = 'quorumd:member:';

/**
 * memberIdOfCert reads the member id a certificate names from its subject
 * alternative names as Node prints them ("URI:quorumd:member:b, DNS:..."),
 * or null when it names none or more than one.
 */
export function memberIdOfCert(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  const ids = subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith(`URI:${MEMBER_URI_PREFIX}`))
    .map((entry) => entry.slice(`URI:${MEMBER_URI_PREFIX}`.length));
  return ids.length === 1 && new RegExp(ID_PATTERN).test(ids[0] ?? '') ? (ids[0] ?? null) : null;
}

export type ConfigResult = { readonly ok: true; readonly config: NodeConfig } | { readonly ok: false; readonly problems: readonly string[] };

interface Spec {
  readonly key: Key;
  readonly flag: string;
  readonly env: string;
  readonly parse: 'string' | 'integer' | 'json' | 'list';
  readonly help: string;
  readonly secret?: boolean;
}

/** Every setting, its flag and variable, in the order problems and --help list them. */
export const SETTINGS: readonly Spec[] = [
  { key: 'id', flag: 'id', env: 'QUORUMD_ID', parse: 'string', help: "this node's id (required)" },
  { key: 'kind', flag: 'kind', env: 'QUORUMD_KIND', parse: 'string', help: 'data or witness (default data)' },
  { key: 'listen', flag: 'listen', env: 'QUORUMD_LISTEN', parse: 'string', help: `host:port to listen on (default ${DEFAULT_LISTEN})` },
  {
    key: 'url',
    flag: 'url',
    env: 'QUORUMD_URL',
    parse: 'string',
    help: 'the URL peers reach this node at (default: its entry in members, else from listen)',
  },
  {
    key: 'members',
    flag: 'members',
    env: 'QUORUMD_MEMBERS',
    parse: 'json',
    help: 'JSON array of {"id","url","kind","state"?}, this node included: the first configuration of a new cluster, used only on the first start of an empty data folder (default: this node alone; optional with join)',
  },
  {
    key: 'clusterName',
    flag: 'cluster-name',
    env: 'QUORUMD_CLUSTER_NAME',
    parse: 'string',
    help: `the name a new cluster's id starts with: <name>-<12 hex digits of a digest of the name, members and timings> (default ${DEFAULT_CLUSTER_NAME})`,
  },
  {
    key: 'join',
    flag: 'join',
    env: 'QUORUMD_JOIN',
    parse: 'string',
    help: "join mode: the id of the cluster to join, from GET /status (such as quorumd-3f2a9c1b7d4e); a node with an empty data folder then waits for that cluster's primary to send a configuration listing it, added by PUT /members/{id} (default none: make a new cluster)",
  },
  { key: 'dataDir', flag: 'data-dir', env: 'QUORUMD_DATA_DIR', parse: 'string', help: 'where the durable state lives (required)' },
  {
    key: 'token',
    flag: 'token',
    env: 'QUORUMD_TOKEN',
    parse: 'string',
    secret: true,
    help: `shared token for every role, at least ${MIN_TOKEN_LENGTH} characters; not with the per-role credentials below (default none; prefer the variable: flags show in ps)`,
  },
  {
    key: 'peerToken',
    flag: 'peer-token',
    env: 'QUORUMD_PEER_TOKEN',
    parse: 'string',
    secret: true,
    help: `this node's own peer token, at least ${MIN_TOKEN_LENGTH} characters, sent on every peer request (default none)`,
  },
  {
    key: 'peerCredentials',
    flag: 'peer-credentials',
    env: 'QUORUMD_PEER_CREDENTIALS',
    parse: 'json',
    help: 'JSON object {"<member id>": ["sha256:<hex>", ...]}: the digests of each member\'s accepted peer tokens, this node included (default none)',
  },
  {
    key: 'agentTokens',
    flag: 'agent-tokens',
    env: 'QUORUMD_AGENT_TOKENS',
    parse: 'list',
    secret: true,
    help: "comma-separated tokens the data store's agent may use, on PUT /log only (default none)",
  },
  {
    key: 'operatorTokens',
    flag: 'operator-tokens',
    env: 'QUORUMD_OPERATOR_TOKENS',
    parse: 'list',
    secret: true,
    help: 'comma-separated tokens operators may use, on POST /switchover and PUT/DELETE /members only (default none)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: 'QUORUMD_TLS_CERT',
    parse: 'string',
    help: `path to this node's PEM certificate, signed by the cluster CA and naming it by the URI SAN ${'quorumd:member:<id>'}; with tlsKey and tlsCa it turns on mutual TLS (default none)`,
  },
  { key: 'tlsKey', flag: 'tls-key', env: 'QUORUMD_TLS_KEY', parse: 'string', help: "path to this node's PEM private key (default none)" },
  {
    key: 'tlsCa',
    flag: 'tls-ca',
    env: 'QUORUMD_TLS_CA',
    parse: 'string',
    help: "path to the cluster CA bundle (PEM) that signs every member's certificate (default none)",
  },
  {
    key: 'insecure',
    flag: 'insecure',
    env: 'QUORUMD_INSECURE',
    parse: 'string',
    help: 'on: serve a non-loopback address without any credentials, letting anyone who reaches it vote and move the primary (default off)',
  },
  {
    key: 'heartbeatMs',
    flag: 'heartbeat-ms',
    env: 'QUORUMD_HEARTBEAT_MS',
    parse: 'integer',
    help: `heartbeat interval (default ${DEFAULT_TIMINGS.heartbeatMs})`,
  },
  {
    key: 'leaseMs',
    flag: 'lease-ms',
    env: 'QUORUMD_LEASE_MS',
    parse: 'integer',
    help: `how long an acknowledged heartbeat round lets the primary serve; a failover waits about this long (default ${DEFAULT_TIMINGS.leaseMs})`,
  },
  {
    key: 'electionTimeoutMs',
    flag: 'election-timeout-ms',
    env: 'QUORUMD_ELECTION_TIMEOUT_MS',
    parse: 'integer',
    help: `minimum election timeout (default ${DEFAULT_TIMINGS.electionTimeoutMs})`,
  },
  {
    key: 'electionJitterMs',
    flag: 'election-jitter-ms',
    env: 'QUORUMD_ELECTION_JITTER_MS',
    parse: 'integer',
    help: `random extra election timeout, up to (default ${DEFAULT_TIMINGS.electionJitterMs})`,
  },
  {
    key: 'onRoleChange',
    flag: 'on-role-change',
    env: 'QUORUMD_ON_ROLE_CHANGE',
    parse: 'string',
    help: 'shell command run on promotion, demotion and, on a follower, each new primary (default none)',
  },
  {
    key: 'onRoleChangeUrl',
    flag: 'on-role-change-url',
    env: 'QUORUMD_ON_ROLE_CHANGE_URL',
    parse: 'string',
    help: 'url the same events are POSTed to as JSON (default none)',
  },
  {
    key: 'prePromote',
    flag: 'pre-promote',
    env: 'QUORUMD_PRE_PROMOTE',
    parse: 'string',
    help: 'shell command a new primary runs before it answers as primary (default none)',
  },
  {
    key: 'prePromoteTimeoutMs',
    flag: 'pre-promote-timeout-ms',
    env: 'QUORUMD_PRE_PROMOTE_TIMEOUT_MS',
    parse: 'integer',
    help: `how long the pre-promote command may run; the primary then serves anyway (default ${DEFAULT_PRE_PROMOTE_TIMEOUT_MS})`,
  },
  {
    key: 'roleChangeTimeoutMs',
    flag: 'role-change-timeout-ms',
    env: 'QUORUMD_ROLE_CHANGE_TIMEOUT_MS',
    parse: 'integer',
    help: `how long the role-change command may run (default ${DEFAULT_ROLE_CHANGE_TIMEOUT_MS})`,
  },
  { key: 'logLevel', flag: 'log-level', env: 'QUORUMD_LOG_LEVEL', parse: 'string', help: `${LOG_LEVELS.join('|')} (default info)` },
  {
    key: 'fastFailover',
    flag: 'fast-failover',
    env: 'QUORUMD_FAST_FAILOVER',
    parse: 'string',
    help: "on: a refused connection to the primary's port makes a follower probe at once instead of after its election timeout; a refusal that lies (a firewall REJECT) costs only a refused probe (default on)",
  },
];

/** The variable that names a config file (as --config does). */
export const CONFIG_ENV = 'QUORUMD_CONFIG';

/**
 * SERVICE_LINK matches the variables Kubernetes puts in every pod for each
 * Service of its namespace: a Service named quorumd (or quorumd-peers) gives
 * QUORUMD_SERVICE_HOST, QUORUMD_SERVICE_PORT, QUORUMD_PORT and
 * QUORUMD_PORT_7400_TCP_ADDR and the like. They are not settings and no
 * setting has their shape, so they are ignored rather than refused; any other
 * unknown QUORUMD_* variable is still an error (a typo is never ignored).
 */
const SERVICE_LINK = /^QUORUMD(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

const DEFAULTS: Partial<Settings> = {
  kind: 'data',
  clusterName: DEFAULT_CLUSTER_NAME,
  listen: DEFAULT_LISTEN,
  heartbeatMs: DEFAULT_TIMINGS.heartbeatMs,
  leaseMs: DEFAULT_TIMINGS.leaseMs,
  electionTimeoutMs: DEFAULT_TIMINGS.electionTimeoutMs,
  electionJitterMs: DEFAULT_TIMINGS.electionJitterMs,
  roleChangeTimeoutMs: DEFAULT_ROLE_CHANGE_TIMEOUT_MS,
  prePromoteTimeoutMs: DEFAULT_PRE_PROMOTE_TIMEOUT_MS,
  logLevel: 'info',
  fastFailover: 'on',
  insecure: 'off',
};

export const USAGE = `Usage: quorumd [options]

Runs one quorumd node beside a node of a replicated data store.
Each option can also be set by its environment variable or by its key in a
JSON config file; flags win over variables, variables over the file, the
file over defaults. An empty variable counts as unset.

Options:
${SETTINGS.map((s) => `${`  --${s.flag} <value>`.padEnd(33)} ${s.env}\n${' '.repeat(34)}${s.help}`).join('\n')}
  --config <file>                 ${CONFIG_ENV}
                                  a JSON file of settings, keys as: ${SETTINGS.map((s) => s.key).join(', ')}
  -h, --help                      print this and exit

Exit status: 0 after a clean shutdown, 1 when start-up fails (an unusable
state file, an address in use), 2 when the configuration is not valid.

quorumd ctl --help describes the operator's tool.
`;

/** wantsHelp says whether the command line asks for the usage text. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h');
}

export interface ConfigIo {
  /** Reads the config file; readFileSync by default. */
  readonly readFile?: (path: string) => string;
  /** Relative paths (config file, data dir) are resolved from here; process.cwd() by default. */
  readonly cwd?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** checkEnv checks a configuration given by environment variables alone (as in a compose file). */
export function checkEnv(env: Env, io: ConfigIo = {}): ConfigResult {
  return resolveConfig([], env, io);
}

/** A value and the name of where it came from, for messages. */
interface Sourced {
  readonly value: unknown;
  readonly label: string;
}

/**
 * resolveConfig turns a command line (without the node and script paths) and
 * an environment into a checked configuration, or into every problem found.
 */
export function resolveConfig(argv: readonly string[], env: Env, io: ConfigIo = {}): ConfigResult {
  const problems: string[] = [];
  const cwd = io.cwd ?? process.cwd();
  const flags = readFlags(argv, problems);
  const vars = readEnv(env, problems);
  const file = readConfigFile(flags.config ?? vars.config, cwd, io.readFile ?? ((p) => readFileSync(p, 'utf8')), problems);

  const chosen = new Map<Key, Sourced>();
  const settings: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const fromFlag = flags.values.get(spec.key);
    const fromEnv = vars.values.get(spec.key);
    const fromFile = file.values.get(spec.key);
    // The first source that has the setting decides it, even when its value is bad.
    let picked: Sourced | null | undefined;
    if (fromFlag !== undefined) picked = fromString(spec, fromFlag, `--${spec.flag}`, problems);
    else if (fromEnv !== undefined) picked = fromString(spec, fromEnv, spec.env, problems);
    else if (fromFile !== undefined) picked = { value: fromFile, label: `"${spec.key}" in config file ${file.path}` };
    else if (DEFAULTS[spec.key] !== undefined) picked = { value: DEFAULTS[spec.key], label: `${spec.key} (default)` };
    if (picked === null) continue;
    if (picked === undefined) {
      if (!isOptional(spec.key)) problems.push(`${spec.key} is required: set --${spec.flag} or ${spec.env} (or "${spec.key}" in the config file)`);
      continue;
    }
    const fault = firstFault(NodeSettings.properties[spec.key], picked.value);
    if (fault) {
      problems.push(describe(spec, picked, fault));
      continue;
    }
    chosen.set(spec.key, picked);
    settings[spec.key] = picked.value;
  }
  if (problems.length > 0) return { ok: false, problems };
  return finish(settings as Settings, chosen, cwd, io.readFile ?? ((p) => readFileSync(p, 'utf8')));
}

/** finish derives what the settings imply and checks how they fit together. */
function finish(s: Settings, chosen: Map<Key, Sourced>, cwd: string, readFile: (path: string) => string): ConfigResult {
  const problems: string[] = [];
  const label = (key: Key) => chosen.get(key)?.label ?? key;

  const listen = parseListen(s.listen);
  if (!listen) problems.push(`${label('listen')} must have a port from 1 to 65535; got ${JSON.stringify(s.listen)}`);

  const joining = s.join !== undefined;
  const members: Member[] | null = s.members ? s.members.map((m) => ({ ...m, state: m.state ?? 'voting' })) : null;
  let url = s.url ?? null;
  if (joining) checkJoin(s, chosen, label, problems);
  if (members) {
    const membersLabel = label('members');
    const seenIds = new Set<string>();
    const seenUrls = new Set<string>();
    for (const m of members) {
      if (seenIds.has(m.id)) problems.push(`${membersLabel} lists the id "${m.id}" more than once`);
      if (seenUrls.has(m.url)) problems.push(`${membersLabel} lists the url "${m.url}" more than once`);
      seenIds.add(m.id);
      seenUrls.add(m.url);
    }
    const self = members.find((m) => m.id === s.id);
    // A joining node's list is the cluster as the operator last saw it, which
    // need not hold this node yet: the primary's configuration will.
    if (!self && !joining) {
      problems.push(`${membersLabel} must include this node, "${s.id}" (from ${label('id')})`);
    } else if (self) {
      if (self.kind !== s.kind) {
        problems.push(`${membersLabel} lists "${s.id}" as ${self.kind}, but ${label('kind')} says ${s.kind}`);
      }
      if (url !== null && self.url !== url) {
        problems.push(`${label('url')} is ${JSON.stringify(url)}, but ${membersLabel} gives "${s.id}" the url "${self.url}": peers use the latter`);
      }
      url ??= self.url;
    }
    // The list bootstraps a cluster only when not joining: its shape must work.
    if (!joining) for (const why of shapeProblems(members)) problems.push(`${membersLabel} cannot work: ${why}`);
  } else if (s.kind !== 'data' && !joining) {
    problems.push(`${label('kind')} is witness, so members must be given: a witness alone can never elect a primary`);
  }
  // A node with TLS and no url or member list is reached at https.
  if (url === null && listen) url = urlFromListen(listen).replace(/^http:/, s.tlsCert !== undefined ? 'https:' : 'http:');

  const timings: Timings = {
    heartbeatMs: s.heartbeatMs,
    leaseMs: s.leaseMs,
    electionTimeoutMs: s.electionTimeoutMs,
    electionJitterMs: s.electionJitterMs,
    clockDriftBound: DEFAULT_TIMINGS.clockDriftBound,
  };
  for (const why of validateTimings(timings)) {
    const used = (['heartbeatMs', 'leaseMs', 'electionTimeoutMs', 'electionJitterMs'] as const)
      .filter((k) => why.includes(k))
      .map((k) => `${label(k)} = ${s[k]}`);
    problems.push(`timings: ${why}${used.length ? ` (${used.join(', ')})` : ''}`);
  }

  const selfEntry: Member = { id: s.id, url: url ?? '', kind: s.kind, state: 'voting' };
  const memberList = members ?? [selfEntry];
  const tls = checkTls(s, memberList, url, cwd, readFile, label, problems);
  // A joining node's list may lack it; its own entry is still checked against its own token.
  const credentialed = memberList.some((m) => m.id === s.id) ? memberList : [...memberList, selfEntry];
  const peerCredentials = s.tlsCert === undefined ? checkCredentials(s, credentialed, joining, label, problems) : null;
  if (listen && !isLoopback(listen.host) && s.token === undefined && s.peerToken === undefined && s.tlsCert === undefined && s.insecure !== 'on') {
    problems.push(
      `${label('listen')} is ${s.listen}, not a loopback address, and no credentials are configured: anyone who reaches it could vote, ` +
        'send heartbeats and move the primary. Set peerToken and peerCredentials (per-member credentials, with agentTokens and ' +
        'operatorTokens), tlsCert, tlsKey and tlsCa (mutual TLS, with agentTokens and operatorTokens) ' +
        `or token (one shared token), or set --insecure on (QUORUMD_INSECURE=on) to accept that risk`,
    );
  }

  if (problems.length > 0 || !listen || url === null) return { ok: false, problems };
  return {
    ok: true,
    config: {
      id: s.id,
      kind: s.kind,
      listen,
      url,
      members: members ?? (joining ? [] : [{ id: s.id, url, kind: s.kind, state: 'voting' }]),
      clusterName: s.clusterName,
      joinClusterId: s.join ?? null,
      dataDir: resolve(cwd, s.dataDir),
      token: s.token ?? null,
      peerToken: s.peerToken ?? null,
      peerCredentials,
      agentTokens: s.agentTokens ?? [],
      operatorTokens: s.operatorTokens ?? [],
      tls,
      insecure: s.insecure === 'on',
      timings,
      onRoleChange: s.onRoleChange ?? null,
      onRoleChangeUrl: s.onRoleChangeUrl ?? null,
      roleChangeTimeoutMs: s.roleChangeTimeoutMs,
      prePromote: s.prePromote ?? null,
      prePromoteTimeoutMs: s.prePromoteTimeoutMs,
      logLevel: s.logLevel,
      fastFailover: s.fastFailover === 'on',
    },
  };
}

/**
 * checkJoin checks the settings that mean nothing, or something else, in
 * join mode: a cluster name given outright must be the one the joined id
 * starts with, since the id, not the name, decides which cluster is joined.
 */
function checkJoin(s: Settings, chosen: Map<Key, Sourced>, label: (key: Key) => string, problems: string[]): void {
  const joined = s.join ?? '';
  const name = joined.slice(0, joined.length - 13);
  const givenName = chosen.get('clusterName')?.label !== 'clusterName (default)';
  if (givenName && s.clusterName !== name) {
    problems.push(
      `${label('clusterName')} is ${JSON.stringify(s.clusterName)}, but ${label('join')} names a cluster called ${JSON.stringify(name)}: ` +
        'a joining node takes its cluster from the id it joins; remove the cluster name or join the cluster you meant',
    );
  }
}

const TLS_SETTINGS = ['tlsCert', 'tlsKey', 'tlsCa'] as const;

/**
 * checkTls checks the mutual TLS settings: all three or none; with them, no
 * shared token and no peer tokens (peers prove who they are by certificate
 * only), https urls for every member and this node; without them, no https
 * url (this node would neither serve TLS nor present a certificate). It reads
 * the three files, checks that each holds what it should, that the key is the
 * certificate's, that the cluster CA signed it and that it names this node.
 * Like the config file, a file that cannot be read or used is a problem of
 * the configuration: the path given is what is wrong.
 */
function checkTls(
  s: Settings,
  members: readonly Member[],
  url: string | null,
  cwd: string,
  readFile: (path: string) => string,
  label: (key: Key) => string,
  problems: string[],
): TlsMaterial | null {
  const given = TLS_SETTINGS.filter((k) => s[k] !== undefined);
  const httpsUrls = [...members.filter((m) => m.url.startsWith('https://')).map((m) => `"${m.id}" (${m.url})`)];
  if (given.length === 0) {
    if (httpsUrls.length > 0) {
      problems.push(
        `${label('members')} gives https urls to ${httpsUrls.join(', ')}, but TLS is not configured: without tlsCert, tlsKey and tlsCa this node ` +
          'serves plain HTTP and presents no certificate, so members at https urls could not reach it nor it them; set all three, or use http urls',
      );
    } else if (url?.startsWith('https://')) {
      problems.push(`${label('url')} is an https url, but TLS is not configured: set tlsCert, tlsKey and tlsCa, or use an http url`);
    }
    return null;
  }
  if (given.length < TLS_SETTINGS.length) {
    const missing = TLS_SETTINGS.filter((k) => s[k] === undefined).map((k) => {
      const spec = SETTINGS.find((x) => x.key === k);
      return `${k} (--${spec?.flag} or ${spec?.env})`;
    });
    problems.push(
      `mutual TLS needs tlsCert, tlsKey and tlsCa together: set ${missing.join(' and ')}, since ${given.map(label).join(', ')} ${given.length === 1 ? 'is' : 'are'} set`,
    );
    return null;
  }
  const tokenModes = (['token', 'peerToken', 'peerCredentials'] as const).filter((k) => s[k] !== undefined);
  if (tokenModes.length > 0) {
    problems.push(
      `${tokenModes.map(label).join(', ')} cannot be used together with mutual TLS (tlsCert, tlsKey, tlsCa): with TLS, peers prove who they are by ` +
        'their certificate only, and the agent and operators by agentTokens and operatorTokens; remove the peer and shared tokens',
    );
  }
  const plain = members.filter((m) => !m.url.startsWith('https://')).map((m) => `"${m.id}" (${m.url})`);
  if (plain.length > 0) {
    problems.push(`${label('members')} gives ${plain.join(', ')} a url that is not https, but mutual TLS is on: every member must be reached over https`);
  }
  if (url !== null && !url.startsWith('https://') && !plain.some((p) => p.startsWith(`"${s.id}"`))) {
    problems.push(`${label('url')} is ${JSON.stringify(url)}, but mutual TLS is on: this node is served over https, so its url must be https`);
  }
  const read = (key: 'tlsCert' | 'tlsKey' | 'tlsCa'): { text: string; path: string } | null => {
    const path = resolve(cwd, s[key] as string);
    try {
      return { text: readFile(path), path };
    } catch (err) {
      problems.push(`${label(key)}: the file ${path} cannot be read: ${(err as Error).message}`);
      return null;
    }
  };
  const certFile = read('tlsCert');
  const keyFile = read('tlsKey');
  const caFile = read('tlsCa');
  if (!certFile || !keyFile || !caFile) return null;
  const before = problems.length;
  const parseCerts = (key: 'tlsCert' | 'tlsCa', file: { text: string; path: string }): X509Certificate[] => {
    const blocks = file.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const certs: X509Certificate[] = [];
    for (const block of blocks) {
      try {
        certs.push(new X509Certificate(block));
      } catch (err) {
        problems.push(`${label(key)}: the file ${file.path} holds a certificate that cannot be parsed: ${(err as Error).message}`);
      }
    }
    if (blocks.length === 0) problems.push(`${label(key)}: the file ${file.path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return certs;
  };
  const own = parseCerts('tlsCert', certFile)[0];
  const cas = parseCerts('tlsCa', caFile);
  let key: ReturnType<typeof createPrivateKey> | null = null;
  try {
    key = createPrivateKey(keyFile.text);
  } catch (err) {
    problems.push(`${label('tlsKey')}: the file ${keyFile.path} holds no usable PEM private key: ${(err as Error).message}`);
  }
  if (own) {
    if (key && !own.checkPrivateKey(key)) {
      problems.push(`${label('tlsKey')}: the key in ${keyFile.path} is not the key of the certificate in ${certFile.path}`);
    }
    if (cas.length > 0 && !cas.some((ca) => own.checkIssued(ca) && own.verify(ca.publicKey))) {
      problems.push(`${label('tlsCert')}: the certificate in ${certFile.path} is not signed by the CA in ${caFile.path}: the other members would refuse it`);
    }
    const named = memberIdOfCert(own.subjectAltName);
    if (named !== s.id) {
      problems.push(
        `${label('tlsCert')}: the certificate in ${certFile.path} must name this node by exactly one URI SAN "${MEMBER_URI_PREFIX}${s.id}"; ` +
          (named === null ? 'it names no member' : `it names "${named}"`),
      );
    }
    if (Date.parse(own.validTo) < Date.now()) problems.push(`${label('tlsCert')}: the certificate in ${certFile.path} expired on ${own.validTo}`);
  }
  if (problems.length > before) return null;
  return { cert: certFile.text, key: keyFile.text, ca: caFile.text, certPath: certFile.path, keyPath: keyFile.path, caPath: caFile.path };
}

const ROLE_CREDENTIALS = ['peerToken', 'peerCredentials', 'agentTokens', 'operatorTokens'] as const;

/**
 * checkCredentials checks how the credential settings fit together: the
 * shared token alone or the per-role credentials, never both; a peer token
 * and the members' digests together; a digest list for every member listed;
 * this node's own entry verifying its own token; when joining, an entry for
 * some other member, or no heartbeat of the cluster could be let in. Entries
 * for ids the list does not name are accepted: membership changes at run
 * time (PUT /members), and a member about to be added must be known to the
 * others before it sends its first request. It returns the digests with
 * their hex in lower case, or null without them.
 */
function checkCredentials(
  s: Settings,
  members: readonly Member[],
  joining: boolean,
  label: (key: Key) => string,
  problems: string[],
): Record<string, readonly string[]> | null {
  const roleKeys = ROLE_CREDENTIALS.filter((k) => s[k] !== undefined);
  if (s.token !== undefined && roleKeys.length > 0) {
    problems.push(
      `${label('token')} (the shared token) cannot be used together with ${roleKeys.map(label).join(', ')}: pick one mode, ` +
        'either token alone (every role shares it) or peerToken and peerCredentials with agentTokens and operatorTokens (each role its own)',
    );
    return null;
  }
  if (roleKeys.length === 0) return null;
  if (s.peerToken === undefined || s.peerCredentials === undefined) {
    const missing = s.peerToken === undefined ? 'peerToken' : 'peerCredentials';
    const spec = SETTINGS.find((x) => x.key === missing);
    problems.push(
      `per-role credentials need both peerToken and peerCredentials: set ${missing} (--${spec?.flag} or ${spec?.env}), since ${roleKeys
        .map(label)
        .join(', ')} ${roleKeys.length === 1 ? 'is' : 'are'} set`,
    );
    return null;
  }
  const credsLabel = label('peerCredentials');
  const digests: Record<string, readonly string[]> = {};
  for (const [id, list] of Object.entries(s.peerCredentials)) {
    if (!new RegExp(ID_PATTERN).test(id)) problems.push(`${credsLabel} names ${JSON.stringify(id)}, which is not a member id (${ID_DESCRIPTION})`);
    digests[id] = list.map((d) => d.toLowerCase());
  }
  if (joining && !Object.keys(digests).some((id) => id !== s.id)) {
    problems.push(
      `${credsLabel} names no member but this node, which is joining (${label('join')}): it would refuse every heartbeat of the cluster it joins; ` +
        "list the digests of the cluster's members",
    );
  }
  for (const m of members) {
    if (digests[m.id] === undefined) problems.push(`${credsLabel} has no entry for member "${m.id}": every request it sends would be refused`);
  }
  const own = digests[s.id];
  if (own !== undefined && !own.includes(peerDigest(s.peerToken))) {
    problems.push(
      `${credsLabel} lists no digest of this node's own peer token (${label('peerToken')}) under "${s.id}": the others would refuse every request it sends; ` +
        'its digest is printf %s "$TOKEN" | sha256sum',
    );
  }
  return digests;
}

function isOptional(key: Key): boolean {
  return !(NodeSettings.required as readonly string[]).includes(key);
}

// ---- sources ----

function readFlags(argv: readonly string[], problems: string[]): { values: Map<Key, string>; config: string | undefined } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<Key, string>();
  let config: string | undefined;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      problems.push(`unexpected argument ${JSON.stringify(token.value)}: options take the form --name value (see --help)`);
      continue;
    }
    if (token.kind !== 'option' || token.name === 'help') continue;
    const spec = SETTINGS.find((s) => s.flag === token.name);
    if (!spec && token.name !== 'config') {
      problems.push(`unknown option ${token.rawName} (see --help)`);
      continue;
    }
    if (token.value === undefined || token.value === '') {
      problems.push(`${token.rawName} needs a value`);
      continue;
    }
    if (spec) values.set(spec.key, token.value);
    else config = token.value;
  }
  return { values, config };
}

function readEnv(env: Env, problems: string[]): { values: Map<Key, string>; config: string | undefined } {
  const values = new Map<Key, string>();
  for (const spec of SETTINGS) {
    const v = env[spec.env];
    if (v !== undefined && v !== '') values.set(spec.key, v);
  }
  const known = new Set([...SETTINGS.map((s) => s.env), CONFIG_ENV]);
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('QUORUMD_') && !known.has(name) && !SERVICE_LINK.test(name)) {
      problems.push(`unknown environment variable ${name} (see --help for the QUORUMD_* settings)`);
    }
  }
  const config = env[CONFIG_ENV];
  return { values, config: config === '' ? undefined : config };
}

function readConfigFile(
  path: string | undefined,
  cwd: string,
  readFile: (path: string) => string,
  problems: string[],
): { values: Map<Key, unknown>; path: string } {
  const values = new Map<Key, unknown>();
  if (path === undefined) return { values, path: '' };
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = readFile(full);
  } catch (err) {
    problems.push(`config file ${full} cannot be read: ${(err as Error).message}`);
    return { values, path: full };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`config file ${full} is not valid JSON: ${(err as Error).message}`);
    return { values, path: full };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`config file ${full} must hold a JSON object of settings`);
    return { values, path: full };
  }
  for (const [key, value] of Object.entries(parsed)) {
    const spec = SETTINGS.find((s) => s.key === key);
    if (!spec) {
      problems.push(`config file ${full} has an unknown setting "${key}"; the settings are ${SETTINGS.map((s) => s.key).join(', ')}`);
      continue;
    }
    values.set(spec.key, value);
  }
  return { values, path: full };
}

/** fromString reads a flag's or a variable's text as the setting's type; null (and a problem) when it cannot. */
function fromString(spec: Spec, text: string, label: string, problems: string[]): Sourced | null {
  switch (spec.parse) {
    case 'string':
      return { value: text, label };
    case 'integer': {
      const value = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(value)) {
        problems.push(`${label} must be ${describeSchema(NodeSettings.properties[spec.key])}; got ${JSON.stringify(text)}`);
        return null;
      }
      return { value, label };
    }
    case 'list':
      return { value: text.split(',').map((item) => item.trim()), label };
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown, label };
      } catch (err) {
        problems.push(`${label} must be JSON (${describeSchema(NodeSettings.properties[spec.key])}); it does not parse: ${(err as Error).message}`);
        return null;
      }
  }
}

// ---- messages ----

interface Fault {
  readonly path: string;
  readonly kind: 'required' | 'unknown' | 'invalid';
  readonly schema: TSchema;
  readonly value: unknown;
}

/** firstFault checks a value against its setting's schema and returns the first fault, if any. */
function firstFault(schema: TSchema, value: unknown): Fault | null {
  for (const e of Value.Errors(schema, value)) {
    if (e.type === ValueErrorType.ObjectRequiredProperty) {
      return { path: e.path, kind: 'required', schema: e.schema, value: e.value };
    }
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      return { path: e.path, kind: 'unknown', schema: e.schema, value: e.value };
    }
    return { path: e.path, kind: 'invalid', schema: e.schema, value: e.value };
  }
  return null;
}

function describe(spec: Spec, picked: Sourced, fault: Fault): string {
  const parts = fault.path
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
  const inner = parts === '' ? '' : `${spec.key}${parts}`;
  if (fault.kind === 'required') return `${picked.label}: ${inner} is required`;
  if (fault.kind === 'unknown') return `${picked.label}: ${inner} is not a known field; a member is {"id", "url", "kind", "state"?}`;
  const got = spec.secret ? secretShape(fault.value) : `got ${show(fault.value)}`;
  return `${picked.label}${inner ? `: ${inner}` : ''} must be ${describeSchema(fault.schema)}; ${got}`;
}

/** secretShape says what a bad secret value looked like without showing any of it. */
function secretShape(value: unknown): string {
  if (typeof value === 'string') return `got ${value.length} characters`;
  if (Array.isArray(value)) return `got a list of ${value.length}`;
  return `got ${value === null ? 'null' : typeof value}`;
}

function describeSchema(schema: TSchema | undefined): string {
  return typeof schema?.description === 'string' ? schema.description : 'valid';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 72 ? `${text.slice(0, 69)}...` : text;
}

// ---- addresses ----

/** parseListen splits host:port ([v6]:port too); null when the port is out of range. */
export function parseListen(listen: string): { host: string; port: number } | null {
  const i = listen.lastIndexOf(':');
  const rawHost = listen.slice(0, i);
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  return { host, port };
}

/** urlFromListen is the URL a node listening there is reached at on this machine. */
export function urlFromListen(listen: { host: string; port: number }): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}
