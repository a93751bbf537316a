// The command line of `quorumd ctl`: which command, its arguments, and the
// options every command shares. Parsing only: a mistake is a UsageError with
// one line that says what was wrong, and nothing is sent anywhere.

import { parseArgs } from 'node:util';
import { ID_PATTERN, URL_PATTERN } from '../schemas.js';

/** What the operator asked for. */
export type Command =
  | { readonly name: 'list' }
  | { readonly name: 'history' }
  | { readonly name: 'pause' }
  | { readonly name: 'resume' }
  | { readonly name: 'switchover'; readonly to: string | null }
  | { readonly name: 'why'; readonly id: string }
  | {
      readonly name: 'members-add';
      readonly id: string;
      readonly url: string;
      readonly kind: 'data' | 'witness';
      readonly autoPromote: boolean;
      readonly priority: number | null;
    }
  | { readonly name: 'members-remove'; readonly id: string }
  | { readonly name: 'members-promote'; readonly id: string };

/** The options every command takes: where the cluster is, the credentials, and the output. */
export interface CommonOptions {
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly tokenFile: string | undefined;
  readonly config: string | undefined;
  readonly tlsCa: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
}

export interface Parsed {
  readonly command: Command;
  readonly options: CommonOptions;
}

/** A command line that cannot be run; the message is one line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** How long one request may take unless --timeout-ms says: a switchover or a membership change resolves within seconds. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export const CTL_USAGE = `Usage: quorumd ctl <command> [options]

Commands:
  list                                   the whole cluster in one table (GET /cluster)
  switchover [--to ID]                   move the primary role to ID, or to the best member
  members add ID --url URL --kind data|witness [--auto-promote off] [--priority 0-100]
                                         add a member (it joins catching up, and the primary
                                         promotes it once caught up unless off); a --url
                                         before "members" is the cluster's, after it the member's
  members remove ID                      remove a member
  members promote ID                     make a catching-up member a voter
  history                                the terms and their primaries (GET /history)
  pause                                  pause automatic failover cluster-wide (maintenance mode)
  resume                                 resume automatic failover
  why ID                                 whether ID would be elected now, and each voter's reason

Options:
  --url <url>           any member's url (QUORUMD_URL; default http://127.0.0.1:7400)
  --token <token>       the operator token or the shared token (QUORUMD_TOKEN, else the
                        first of QUORUMD_OPERATOR_TOKENS)
  --token-file <file>   read the token from this file (its first line)
  --config <file>       a node's JSON config file (QUORUMD_CONFIG): its url, token or
                        operatorTokens and TLS files are used where not given otherwise
  --tls-ca <file>       the cluster CA, for https members (QUORUMD_TLS_CA)
  --tls-cert <file>     a client certificate to present, with --tls-key (QUORUMD_TLS_CERT)
  --tls-key <file>      its private key (QUORUMD_TLS_KEY)
  --json                print the API's JSON instead of a table
  --timeout-ms <ms>     how long one request may take (default ${DEFAULT_TIMEOUT_MS})
  -h, --help            print this and exit

Exit status: 0 done, 1 the cluster refused or could not be reached, 2 a bad command line.
`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  config: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  json: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  to: { type: 'string' },
  kind: { type: 'string' },
  'auto-promote': { type: 'string' },
  priority: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Which options each command takes besides the common ones. */
const COMMAND_OPTIONS: Record<Command['name'], readonly string[]> = {
  list: [],
  history: [],
  pause: [],
  resume: [],
  switchover: ['to'],
  why: [],
  'members-add': ['url', 'kind', 'auto-promote', 'priority'],
  'members-remove': [],
  'members-promote': [],
};

const ID_RE = new RegExp(ID_PATTERN);
const URL_RE = new RegExp(URL_PATTERN);

/** wantsCtlHelp says whether the command line asks for the usage text. */
export function wantsCtlHelp(argv: readonly string[]): boolean {
  // "help" only as the command word: a member may well be called help.
  return argv.length === 0 || argv[0] === 'help' || argv.some((a) => a === '--help' || a === '-h');
}

/** parseCtlArgs reads a `quorumd ctl` command line (after "ctl"); a mistake throws UsageError. */
export function parseCtlArgs(argv: readonly string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; tokens: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (see quorumd ctl --help)`);
  }
  const { values, positionals, tokens } = parsed;
  // members add takes the new member's --url: a --url before the command
  // word is the cluster's (any member's), one after it the new member's.
  const verbAt = tokens.find((tk) => tk.kind === 'positional')?.index ?? Number.POSITIVE_INFINITY;
  const urls = tokens.filter((tk) => tk.kind === 'option' && tk.name === 'url');
  const before = urls.filter((tk) => tk.index < verbAt).at(-1);
  const after = urls.filter((tk) => tk.index > verbAt).at(-1);
  const [verb, ...rest] = positionals;
  const addsMember = verb === 'members' && rest[0] === 'add';
  const memberUrl = addsMember && after?.kind === 'option' ? after.value : undefined;
  const clusterUrl = addsMember ? (before?.kind === 'option' ? before.value : undefined) : values.url;
  const command = commandOf(verb, rest, { ...values, url: memberUrl });
  const extra = COMMAND_OPTIONS[command.name];
  for (const flag of ['to', 'kind', 'auto-promote', 'priority'] as const) {
    if (values[flag] !== undefined && !extra.includes(flag)) throw new UsageError(`${describeCommand(command)} takes no --${flag}`);
  }
  const timeout = values['timeout-ms'];
  const timeoutMs = timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(timeout);
  if (!/^[0-9]+$/.test(timeout ?? '0') || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new UsageError(`--timeout-ms must be a whole number of milliseconds, at least 1; got ${JSON.stringify(timeout)}`);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  return {
    command,
    options: {
      url: clusterUrl,
      token: values.token,
      tokenFile: values['token-file'],
      config: values.config,
      tlsCa: values['tls-ca'],
      tlsCert: values['tls-cert'],
      tlsKey: values['tls-key'],
      json: values.json ?? false,
      timeoutMs,
    },
  };
}

type Values = { readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function commandOf(verb: string | undefined, rest: readonly string[], values: Values): Command {
  switch (verb) {
    case 'list':
    case 'history':
    case 'pause':
    case 'resume':
      none(verb, rest);
      return { name: verb };
    case 'switchover':
      none(verb, rest);
      return { name: 'switchover', to: values.to === undefined ? null : id(values.to, '--to') };
    case 'why':
      return { name: 'why', id: one(verb, rest) };
    case 'members':
      return membersCommand(rest, values);
    case undefined:
      throw new UsageError('a command is needed: list, switchover, members, history, pause, resume or why (see quorumd ctl --help)');
    default:
      throw new UsageError(`unknown command "${verb}": the commands are list, switchover, members, history, pause, resume and why`);
  }
}

function membersCommand(rest: readonly string[], values: Values): Command {
  const [action, ...args] = rest;
  switch (action) {
    case 'add': {
      const memberId = one('members add', args);
      if (values.url === undefined) throw new UsageError("members add needs --url after the member id: the new member's url");
      if (!URL_RE.test(values.url)) throw new UsageError(`--url must be an http or https url; got ${JSON.stringify(values.url)}`);
      if (values.kind !== 'data' && values.kind !== 'witness') {
        throw new UsageError(`members add needs --kind data or --kind witness${values.kind === undefined ? '' : `; got ${JSON.stringify(values.kind)}`}`);
      }
      const auto = values['auto-promote'];
      if (auto !== undefined && auto !== 'on' && auto !== 'off') throw new UsageError(`--auto-promote must be on or off; got ${JSON.stringify(auto)}`);
      const p = values.priority;
      if (p !== undefined && (!/^[0-9]{1,3}$/.test(p) || Number(p) > 100))
        throw new UsageError(`--priority must be a whole number from 0 to 100; got ${JSON.stringify(p)}`);
      return {
        name: 'members-add',
        id: memberId,
        url: values.url,
        kind: values.kind,
        autoPromote: auto !== 'off',
        priority: p === undefined ? null : Number(p),
      };
    }
    case 'remove':
      return { name: 'members-remove', id: one('members remove', args) };
    case 'promote':
      return { name: 'members-promote', id: one('members promote', args) };
    case undefined:
      throw new UsageError('members needs an action: add, remove or promote');
    default:
      throw new UsageError(`unknown members action "${action}": the actions are add, remove and promote`);
  }
}

function none(what: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`${what} takes no arguments; got ${rest.map((r) => JSON.stringify(r)).join(' ')}`);
}

function one(what: string, rest: readonly string[]): string {
  if (rest.length !== 1) throw new UsageError(`${what} takes one member id${rest.length > 1 ? `; got ${rest.length} arguments` : ''}`);
  return id(rest[0] as string, 'the member id');
}

function id(value: string, what: string): string {
  if (!ID_RE.test(value)) throw new UsageError(`${what} must be 1 to 64 letters, digits, ".", "_" or "-"; got ${JSON.stringify(value)}`);
  return value;
}

function describeCommand(c: Command): string {
  return c.name.replace('-', ' ');
}
