// The role-change hook: an operator's command run on promotion and demotion,
// with the role, the term (the fencing token) and the primary in its
// environment. Runs one at a time in the order the changes happened, each
// bounded in time; its output goes to the log.
//
// What the hook's environment holds. The command gets the node's environment
// with quorumd's own configuration taken out, then the four variables it is
// documented to receive: QUORUMD_NODE_ID, QUORUMD_ROLE, QUORUMD_TERM and
// QUORUMD_PRIMARY_ID. The rule is:
// - every variable whose name starts with QUORUMD_ is removed, whatever it
//   holds: that is the node's configuration, and QUORUMD_TOKEN, the cluster
//   credential, is one of them;
// - every other variable whose value contains the cluster token is removed
//   too, so a copy of the credential under another name does not leak either.
//   The token is the one in the node's QUORUMD_TOKEN, plus any the runtime
//   names in the options (a token given by flag or config file);
// - everything else is passed on: the hook usually drives the data store and
//   may need the operator's own variables (PATH, HOME, a database password) to
//   do it. A secret that the hook must not see should not be in the node's
//   environment at all.
//
// How a slow hook ends. The command runs in a process group of its own. When
// it outlives its time, the whole group gets SIGTERM, then SIGKILL after a
// short grace, so a shell hook that started children leaves none behind. The
// next hook starts only once the group is gone (or has been sent SIGKILL). A
// hook that finishes in time is not followed up: whatever it left running in
// the background, it left there on purpose.

import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export interface RoleHookEvent {
  readonly nodeId: string;
  readonly role: 'primary' | 'follower';
  readonly term: number;
  readonly primaryId: string | null;
}

export interface RoleHookOptions {
  /** The environment the hook's is derived from; the node's own by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Credentials no variable passed to the hook may contain, besides QUORUMD_TOKEN's value. */
  readonly secrets?: readonly string[];
  /** How long the hook's group has between SIGTERM and SIGKILL after a timeout. */
  readonly killGraceMs?: number;
}

const DEFAULT_KILL_GRACE_MS = 2000;

/**
 * hookEnvironment derives the hook's environment from the node's: without any
 * QUORUMD_ variable or any variable carrying a credential, with the event's
 * variables added.
 */
export function hookEnvironment(base: NodeJS.ProcessEnv, event: RoleHookEvent, secrets: readonly string[] = []): NodeJS.ProcessEnv {
  const credentials = [base.QUORUMD_TOKEN, ...secrets].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (name.toUpperCase().startsWith('QUORUMD_')) continue;
    if (credentials.some((c) => value.includes(c))) continue;
    env[name] = value;
  }
  env.QUORUMD_NODE_ID = event.nodeId;
  env.QUORUMD_ROLE = event.role;
  env.QUORUMD_TERM = String(event.term);
  env.QUORUMD_PRIMARY_ID = event.primaryId ?? '';
  return env;
}

/** signalGroup sends a signal to a process group; false once the group is gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export class RoleHook {
  private chain: Promise<void> = Promise.resolve();
  private readonly env: NodeJS.ProcessEnv;
  private readonly secrets: readonly string[];
  private readonly killGraceMs: number;

  constructor(
    private readonly command: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    options: RoleHookOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.secrets = options.secrets ?? [];
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  run(event: RoleHookEvent): Promise<void> {
    this.chain = this.chain.then(() => this.runOne(event));
    return this.chain;
  }

  /** idle resolves once every queued run has finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private runOne(event: RoleHookEvent): Promise<void> {
    return new Promise((resolve) => {
      // detached puts the shell at the head of a new process group, whose id
      // is its pid; its children join that group unless they leave it.
      const child = spawn('/bin/sh', ['-c', this.command], {
        env: hookEnvironment(this.env, event, this.secrets),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const log = (stream: string) => (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line) this.logger.info({ hook: 'on-role-change', stream, role: event.role, term: event.term }, line);
        }
      };
      child.stdout.on('data', log('stdout'));
      child.stderr.on('data', log('stderr'));

      const pgid = child.pid;
      // The run ends once the hook has closed its output and, after a
      // timeout, its group is gone or has been sent SIGKILL.
      let closed = false;
      let timedOut = false;
      let killed = false;
      let done = false;
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        if (pgid === undefined) return;
        timedOut = true;
        this.logger.warn({ hook: 'on-role-change', timeoutMs: this.timeoutMs }, 'role-change command timed out; ending its process group');
        signalGroup(pgid, 'SIGTERM');
        killTimer = setTimeout(() => {
          killed = true;
          if (signalGroup(pgid, 'SIGKILL')) this.logger.warn({ hook: 'on-role-change' }, 'role-change command outlived SIGTERM; killed its process group');
          if (closed) finish();
        }, this.killGraceMs);
      }, this.timeoutMs);
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        resolve();
      };

      child.on('error', (err) => {
        this.logger.error({ hook: 'on-role-change', err }, 'role-change command could not start');
        finish();
      });
      child.on('close', (code, signal) => {
        closed = true;
        const level = code === 0 ? 'info' : 'warn';
        this.logger[level]({ hook: 'on-role-change', code, signal, role: event.role, term: event.term }, 'role-change command finished');
        // After a timeout, wait for the grace's SIGKILL unless the group is already gone.
        if (!timedOut || killed || pgid === undefined || !signalGroup(pgid, 0)) finish();
      });
    });
  }
}
