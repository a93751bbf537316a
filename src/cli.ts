// The quorumd command: check the configuration, lock the data folder, open the
// node's state file, start the runtime behind the HTTP app, and on SIGTERM or
// SIGINT stop the runtime (a primary makes a switchover first) before closing
// the server and releasing the lock. Exit status: 0 after a clean shutdown, 1
// when start-up fails (a state file that cannot be used, a data folder locked
// by another live process, an address in use), 2 when the configuration is not
// valid. bin/quorumd.js calls run(). `quorumd ctl ...` is the operator's
// tool instead (src/ctl/), with exit statuses of its own.

import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.js';
import type { RoleCredentials } from './http/auth.js';
import { USAGE, resolveConfig, wantsHelp, type NodeConfig } from './config.js';
import { runCtl } from './ctl/index.js';
import { initialConfig } from './runtime/bootstrap.js';
import { NodeRuntime } from './runtime/node-runtime.js';
import type { RuntimeOptions } from './runtime/options.js';
import { DataDirLock, DataDirLockedError, FileStore, StateFileError } from './store/index.js';

export const EXIT_START_FAILED = 1;
export const EXIT_BAD_CONFIG = 2;

/** The streams the command writes to; the process's own by default. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * run starts a node from a command line (without the node and script paths)
 * and an environment. It returns once the node is serving; from then on
 * close-with-grace owns the process's exit. On a failure before that it sets
 * process.exitCode and returns.
 */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = process): Promise<void> {
  if (argv[0] === 'ctl') {
    process.exitCode = await runCtl(argv.slice(1), env, io);
    return;
  }
  if (wantsHelp(argv)) {
    io.stdout.write(USAGE);
    return;
  }
  const result = resolveConfig(argv, env);
  if (!result.ok) {
    io.stderr.write(
      `quorumd: the configuration is not valid:\n${result.problems.map((p) => `  - ${p}\n`).join('')}` + 'Run quorumd --help for the settings.\n',
    );
    process.exitCode = EXIT_BAD_CONFIG;
    return;
  }
  const config = result.config;
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, node: config.id } });
  logger.info({ config: redacted(config) }, 'starting');

  // The lock comes before the state is loaded: a second process on this
  // folder must not even read a term and a vote that another one is changing.
  // A locked folder is a start-up failure (1), not a bad configuration (2):
  // the settings are valid, and the same ones work once the holder stops.
  let lock: DataDirLock;
  try {
    lock = DataDirLock.acquire(config.dataDir, {
      nodeId: config.id,
      onStale: (stale, path) => logger.warn({ path, stale }, 'removing a stale data folder lock: the process that held it is gone'),
    });
  } catch (err) {
    failStart(logger, err);
    return;
  }
  // Whatever ends the process (a fatal fault exits at once) leaves the folder
  // free for the next start; release() removes only a lock that is ours.
  const release = (): void => lock.release();
  process.once('exit', release);

  let runtime: NodeRuntime;
  try {
    runtime = new NodeRuntime(runtimeOptions(config, logger));
  } catch (err) {
    failStart(logger, err);
    release();
    return;
  }

  const tls = config.tls ? { cert: config.tls.cert, key: config.tls.key, ca: config.tls.ca, isMember: (id: string) => runtime.isPeer(id) } : null;
  const app = buildApp({ service: runtime, token: config.token, credentials: roleCredentials(config), tls, logger });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
    runtime.start();
  } catch (err) {
    failStart(logger, err);
    await runtime.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    release();
    return;
  }
  logger.info({ url: config.url, listen: config.listen }, 'serving');

  closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an uncaught error');
    else logger.info({ signal }, 'closing');
    await runtime.stop();
    await app.close();
    release();
    logger.info('closed');
  });
}

/**
 * runtimeOptions is what the runtime starts from. A node that joins makes no
 * configuration: it waits for one from the cluster it names. Any other node
 * offers the configuration its settings describe, which the runtime writes
 * only into an empty data folder.
 */
export function runtimeOptions(config: NodeConfig, logger: Logger): RuntimeOptions {
  return {
    id: config.id,
    initialConfig: config.joinClusterId === null ? initialConfig(config.clusterName, config.members, config.timings) : null,
    joinClusterId: config.joinClusterId,
    // A list given to a joining node is only compared with the configuration it takes.
    settings: config.members.length > 0 ? initialConfig(config.clusterName, config.members, config.timings) : null,
    store: new FileStore(join(config.dataDir, 'state.json')),
    timings: config.timings,
    token: config.token,
    peerToken: config.peerToken,
    tls: config.tls ? { cert: config.tls.cert, key: config.tls.key, ca: config.tls.ca } : null,
    onRoleChange: config.onRoleChange,
    onRoleChangeUrl: config.onRoleChangeUrl,
    roleChangeTimeoutMs: config.roleChangeTimeoutMs,
    prePromote: config.prePromote,
    prePromoteTimeoutMs: config.prePromoteTimeoutMs,
    dataDir: config.dataDir,
    fastFailover: config.fastFailover,
    logger,
  };
}

/**
 * roleCredentials is what the app checks under per-role credentials, and
 * under mutual TLS (the agent's and operators' tokens, no peer digests: peers
 * present certificates); null in the other modes.
 */
export function roleCredentials(config: NodeConfig): RoleCredentials | null {
  if (config.tls !== null) return { peers: {}, agentTokens: config.agentTokens, operatorTokens: config.operatorTokens };
  if (config.peerCredentials === null) return null;
  return { peers: config.peerCredentials, agentTokens: config.agentTokens, operatorTokens: config.operatorTokens };
}

function failStart(logger: Logger, err: unknown): void {
  if (err instanceof DataDirLockedError) {
    logger.fatal({ err, dataDir: err.dataDir, holder: err.holder }, `the data folder is locked by another live process (pid ${err.holder.pid}): not starting`);
  } else if (err instanceof StateFileError) {
    logger.fatal({ err, path: err.path }, 'the state file cannot be used: not starting (it is never reset; repair or restore it)');
  } else {
    logger.fatal({ err }, 'start-up failed');
  }
  process.exitCode = EXIT_START_FAILED;
}

/** redacted is the configuration as it may be logged: no token or private key ever is (the peer digests and the TLS file paths may be). */
export function redacted(config: NodeConfig): Record<string, unknown> {
  return {
    ...config,
    token: config.token === null ? null : '<set>',
    peerToken: config.peerToken === null ? null : '<set>',
    agentTokens: config.agentTokens.map(() => '<set>'),
    operatorTokens: config.operatorTokens.map(() => '<set>'),
    tls: config.tls === null ? null : { cert: config.tls.certPath, key: config.tls.keyPath, ca: config.tls.caPath },
  };
}
