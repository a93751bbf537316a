// The role-change hook: an operator's command run on promotion and demotion,
// with the role, the term (the fencing token) and the primary in its
// environment. Runs one at a time in the order the changes happened, each
// bounded in time; its output goes to the log.

import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export interface RoleHookEvent {
  readonly nodeId: string;
  readonly role: 'primary' | 'follower';
  readonly term: number;
  readonly primaryId: string | null;
}

export class RoleHook {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly command: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

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
      const child = spawn('/bin/sh', ['-c', this.command], {
        env: {
          ...process.env,
          QUORUMD_NODE_ID: event.nodeId,
          QUORUMD_ROLE: event.role,
          QUORUMD_TERM: String(event.term),
          QUORUMD_PRIMARY_ID: event.primaryId ?? '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const log = (stream: string) => (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line) this.logger.info({ hook: 'on-role-change', stream, role: event.role, term: event.term }, line);
        }
      };
      child.stdout.on('data', log('stdout'));
      child.stderr.on('data', log('stderr'));
      const timer = setTimeout(() => {
        this.logger.warn({ hook: 'on-role-change', timeoutMs: this.timeoutMs }, 'role-change command timed out; killing it');
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        this.logger.error({ hook: 'on-role-change', err }, 'role-change command could not start');
        resolve();
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const level = code === 0 ? 'info' : 'warn';
        this.logger[level]({ hook: 'on-role-change', code, signal, role: event.role, term: event.term }, 'role-change command finished');
        resolve();
      });
    });
  }
}
