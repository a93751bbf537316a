// The primary watch: fast evidence that the primary's process is gone. The
// primary's heartbeats arrive on a keep-alive connection; when its process
// dies, its host closes that connection at once. A close alone proves nothing
// (connections are recycled), so the watch then opens a bare connection to the
// primary's port: a refusal means nobody listens there any more. A hung
// process or a cut link refuses nothing, and the election timeout covers them.
// An accepted probe is sent again for a while: a killed process's kernel
// closes its descriptors one at a time, the heartbeat connection often before
// the listening socket, so a probe sent at once may still be accepted (and
// reset a moment later).
//
// The connection is found without the route's help: fastify publishes every
// handler call on its 'fastify.request.handler' tracing channel, start just
// before the handler runs and end once its synchronous part has returned. The
// watch keeps the request's socket between the two, and the heartbeat route
// calls the runtime synchronously, so the runtime can ask for it while it
// takes a heartbeat. (An AsyncLocalStorage bound to the channel did the same,
// but turned on the promise hooks for every promise of the process: a cost on
// every request, heartbeats first.)

import diagnostics from 'node:diagnostics_channel';
import { connect } from 'node:net';

/** The part of a socket the watch uses. */
interface Connection {
  once(event: 'close', listener: () => void): unknown;
}

interface HandlerStore {
  readonly request?: { readonly raw?: { readonly socket?: Connection | null } };
}

const handlerChannel = diagnostics.tracingChannel('fastify.request.handler');
/** The connection of the request whose handler is running now, synchronously; null outside one. */
let currentConnection: Connection | null = null;
const handlerStarts = (message: unknown) => {
  currentConnection = (message as HandlerStore).request?.raw?.socket ?? null;
};
const handlerEnds = () => {
  currentConnection = null;
};
/** How many watches need the subscription; it is undone when the last one closes. */
let bound = 0;

export interface PrimaryWatchOptions {
  /** How long a connect to the primary's port may hang before it counts as not refused. */
  readonly probeTimeoutMs: number;
  /**
   * How long after the first probe an accepted one is sent again: the
   * connection of a killed primary may close a moment before its listening
   * socket does (see probeRefusedWithin).
   */
  readonly probeAgainForMs: number;
  /** Called when the primary's connection closed and its port refused a connect. */
  readonly onGone: (primaryId: string) => void;
}

export class PrimaryWatch {
  private readonly watched = new WeakSet<Connection>();
  private closed = false;

  constructor(private readonly opts: PrimaryWatchOptions) {
    if (bound++ === 0) {
      handlerChannel.start.subscribe(handlerStarts);
      handlerChannel.end.subscribe(handlerEnds);
    }
  }

  /**
   * heartbeatAccepted watches the connection the heartbeat being handled
   * arrived on (once per connection). It must be called from the route
   * handler's synchronous part; outside one there is no connection and
   * nothing is watched.
   */
  heartbeatAccepted(primaryId: string, url: string): void {
    const connection = currentConnection;
    if (this.closed || !connection || this.watched.has(connection)) return;
    this.watched.add(connection);
    connection.once('close', () => {
      if (this.closed) return;
      // A refusal comes back at once; the bound only ends a connect that hangs
      // (a stopped process, a cut link). One heartbeat interval was too tight
      // on a busy machine, where the timer could fire before the refusal was read.
      const stop = () => this.closed;
      void probeRefusedWithin(url, this.opts.probeTimeoutMs, this.opts.probeAgainForMs, stop).then((refused) => {
        if (refused && !this.closed) this.opts.onGone(primaryId);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (--bound === 0) {
      handlerChannel.start.unsubscribe(handlerStarts);
      handlerChannel.end.unsubscribe(handlerEnds);
      currentConnection = null;
    }
  }
}

/**
 * probeRefused opens a bare TCP connection to `url` and says whether it was
 * refused outright: nobody listens on that port. A hung process still
 * accepts (its kernel does), and a cut link times out; neither is refused.
 */
export function probeRefused(url: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || (protocol === 'https:' ? 443 : 80)),
    });
    const done = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(false));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

/**
 * probeRefusedWithin probes `url` until a connect is refused, and sends an
 * accepted (or otherwise answered) probe again, after pauses that double from
 * 1 ms, until `forMs` has passed since the first. One probe is not enough:
 * when a process is killed its kernel closes its descriptors one by one, and
 * the heartbeat connection may close before the listening socket does. A
 * follower woken by that close can then connect to a listener that is about to
 * go (seen on a busy machine: the probe accepted, reset 0-4 ms later, a probe
 * a few ms after refused), and with a single watched connection no survivor
 * ever saw the refusal. The first pauses are short because the gap usually is;
 * doubling keeps a long bound (a dying process descheduled on a loaded
 * machine) to a dozen probes. A hung process or a cut link is never refused,
 * so the probing only ends later with the same answer. `stop` ends it early.
 */
export async function probeRefusedWithin(url: string, timeoutMs: number, forMs: number, stop: () => boolean = () => false): Promise<boolean> {
  const until = performance.now() + forMs;
  for (let pauseMs = 1; ; pauseMs *= 2) {
    if (await probeRefused(url, timeoutMs)) return true;
    if (stop() || performance.now() + pauseMs > until) return false;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
