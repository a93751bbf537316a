// The role-change webhook: the same events as the role-change command, sent
// as a JSON POST to an operator's url, for a store or an orchestrator that
// listens over HTTP rather than runs a shell command. One at a time, in the
// order the changes happened, each bounded in time; a 2xx answer is success.

import type { Logger } from 'pino';
import { request } from 'undici';
import type { HookResult, RoleHookEvent } from './role-hook.js';

export class RoleWebhook {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly onDone: (result: HookResult, seconds: number) => void = () => {},
  ) {}

  /** run queues a POST after those before it, and resolves with how it ended. */
  run(event: RoleHookEvent): Promise<HookResult> {
    const run = this.chain.then(() => this.post(event));
    this.chain = run;
    return run;
  }

  /** idle resolves once every queued POST has finished. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async post(event: RoleHookEvent): Promise<HookResult> {
    const started = performance.now();
    let result: HookResult = 'failed';
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body.dump();
      result = res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : 'failed';
      this.logger[result === 'ok' ? 'info' : 'warn'](
        { hook: 'on-role-change-url', status: res.statusCode, role: event.role, term: event.term },
        'role-change webhook answered',
      );
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      result = timedOut ? 'timed_out' : 'failed';
      this.logger.warn({ hook: 'on-role-change-url', err, role: event.role, term: event.term }, `role-change webhook ${timedOut ? 'timed out' : 'failed'}`);
    }
    this.onDone(result, (performance.now() - started) / 1000);
    return result;
  }
}
