// Hooks: an operator's command run when this node's view of the primary
// changes (on-role-change: promotion, demotion, and on a follower every new
// primary, so a replica can re-point itself), or before a new primary serves
// (pre-promote). Each runs one at a time in the order the changes happened,
// bounded in time; its output goes to the log, and the runtime counts how each
// run ended.
//
// What the hook's environment holds. The command gets the node's environment
// with quorumd's own configuration taken out, then the variables it is
// documented to receive: QUORUMD_NODE_ID, QUORUMD_ROLE, QUORUMD_TERM,
// QUORUMD_PRIMARY_ID and QUORUMD_PRIMARY_URL. The rule is:
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
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

export interface RoleHookEvent {
  readonly nodeId: string;
  readonly role: 'primary' | 'follower';
  readonly term: number;
  readonly primaryId: string | null;
  /** The primary's url as the configuration lists it; null when no primary is known. */
  readonly primaryUrl: string | null;
}

/** How a run ended: the command exited 0, exited otherwise (or could not start), or outlived its time. */
export type HookResult = 'ok' | 'failed' | 'timed_out';

export interface RoleHookOptions {
  /** The environment the hook's is derived from; the node's own by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Credentials no variable passed to the hook may contain, besides QUORUMD_TOKEN's value. */
  readonly secrets?: readonly string[];
  /** How long the hook's group has between SIGTERM and SIGKILL after a timeout. */
  readonly killGraceMs?: number;
  /** The hook's name in the log: on-role-change or pre-promote. */
  readonly name?: string;
  /** Called when a run ends, with how and how long it took. */
  readonly onDone?: (result: HookResult, seconds: number) => void;
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
  env.QUORUMD_PRIMARY_URL = event.primaryUrl ?? '';
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
  private chain: Promise<unknown> = Promise.resolve();
  private readonly env: NodeJS.ProcessEnv;
  private readonly secrets: readonly string[];
  private readonly killGraceMs: number;
  private readonly name: string;
  private readonly onDone: (result: HookResult, seconds: number) => void;

  constructor(
    private readonly command: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    options: RoleHookOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.secrets = options.secrets ?? [];
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.name = options.name ?? 'on-role-change';
    this.onDone = options.onDone ?? (() => {});
  }

  /** run queues a run after those before it, and resolves with how it ended. */
  run(event: RoleHookEvent): Promise<HookResult> {
    const run = this.chain.then(() => this.runOne(event));
    this.chain = run;
    return run;
  }

  /** idle resolves once every queued run has finished. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private runOne(event: RoleHookEvent): Promise<HookResult> {
    const started = performance.now();
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
          if (line) this.logger.info({ hook: this.name, stream, role: event.role, term: event.term }, line);
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
      let result: HookResult = 'failed';
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        if (pgid === undefined) return;
        timedOut = true;
        result = 'timed_out';
        this.logger.warn({ hook: this.name, timeoutMs: this.timeoutMs }, `${this.name} command timed out; ending its process group`);
        signalGroup(pgid, 'SIGTERM');
        killTimer = setTimeout(() => {
          killed = true;
          if (signalGroup(pgid, 'SIGKILL')) this.logger.warn({ hook: this.name }, `${this.name} command outlived SIGTERM; killed its process group`);
          if (closed) finish();
        }, this.killGraceMs);
      }, this.timeoutMs);
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        this.onDone(result, (performance.now() - started) / 1000);
        resolve(result);
      };

      child.on('error', (err) => {
        this.logger.error({ hook: this.name, err }, `${this.name} command could not start`);
        finish();
      });
      child.on('close', (code, signal) => {
        closed = true;
        if (!timedOut && code === 0) result = 'ok';
        const level = code === 0 ? 'info' : 'warn';
        this.logger[level]({ hook: this.name, code, signal, role: event.role, term: event.term }, `${this.name} command finished`);
        // After a timeout, wait for the grace's SIGKILL unless the group is already gone.
        if (!timedOut || killed || pgid === undefined || !signalGroup(pgid, 0)) finish();
      });
    });
  }
}
