// The test kit's process cluster: real quorumd processes on loopback, which
// the local demo, the cluster, chaos and hostile tests and the benchmarks all
// start nodes through. Each node is `node bin/quorumd.js` configured by
// environment, with its own data folder under the cluster's folder, and can be
// killed, paused and restarted. A cluster runs without credentials, with one
// shared token, or with generated per-member credentials (each node its own
// peer token, the others holding only its digest; an agent and an operator
// token), or with mutual TLS (each node its own certificate from a folder the
// test made, with test/kit/certs.ts; the agent and the operator with tokens).
// A cluster can also grow and shrink: spare members get their credentials up
// front, join a running cluster later (join), and the operator's membership
// calls (putMember, deleteMember) add and remove them.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { DEFAULT_TIMINGS } from '../../src/core/index.js';
import type { HeartbeatBody, MembersView, StatusView } from '../../src/runtime/service.js';

export interface NodeSpec {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  readonly state?: 'voting' | 'catching_up';
}

export interface ClusterTimings {
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  readonly electionTimeoutMs: number;
  readonly electionJitterMs: number;
}

export interface ClusterOptions {
  /** The bootstrap members: started at once, and the only ones in every node's QUORUMD_MEMBERS. */
  readonly specs: readonly NodeSpec[];
  /**
   * Members that may join later (join): not started and not in the member
   * list, but their per-member peer tokens are generated up front and every
   * node's credentials list them, since a node accepts only the peers its
   * settings know. Under TLS the test makes their certificates too. Their
   * port, url and data folder are chosen at start (they are in `nodes`, with
   * no process), so the operator may add one before its process runs.
   */
  readonly spares?: readonly NodeSpec[];
  /** The folder that holds every node's data folder. */
  readonly dir: string;
  /** The timings every node is started with; without them, the product's defaults. */
  readonly timings?: ClusterTimings;
  /** A shared token every node and the agent use (the shared-token mode). */
  readonly token?: string;
  /** Generate per-member credentials (not with `token`): see ClusterCredentials. */
  readonly perMemberCredentials?: boolean;
  /**
   * Mutual TLS (not with the token options): `dir` holds ca.crt and each
   * member's <id>.crt and <id>.key; members are reached at https urls.
   */
  readonly tls?: { readonly dir: string };
  /**
   * The ids of the bootstrap members node `id` is told of (its QUORUMD_MEMBERS),
   * when not all of `specs`: nodes started with different lists, as in a
   * rolling change done by editing each node's settings.
   */
  readonly membersFor?: (id: string) => readonly string[] | undefined;
  /** Extra environment for every node (or per node id). */
  readonly env?: Record<string, string>;
  readonly envFor?: (id: string) => Record<string, string>;
  /** Forward the nodes' output to this process's stderr. */
  readonly inheritOutput?: boolean;
  readonly logLevel?: string;
}

/** The credentials a cluster generated for its nodes, for tests to act as any of them. */
export interface ClusterCredentials {
  /** Each member's own peer token (a node is given only its own, and the digests of all). */
  readonly peerTokens: ReadonlyMap<string, string>;
  /** The token the kit's agent (reportPosition) uses on PUT /log. */
  readonly agentToken: string;
  /** A token accepted on POST /switchover. */
  readonly operatorToken: string;
}

/** randomToken is a fresh token of 48 hex characters, as `openssl rand -hex 24` makes. */
export function randomToken(): string {
  return randomBytes(24).toString('hex');
}

/** tokenDigest is a peer token's verifier as QUORUMD_PEER_CREDENTIALS lists it. */
export function tokenDigest(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

export interface RunningNode {
  readonly spec: NodeSpec;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The cluster id a spare was started to join (QUORUMD_JOIN); null for a bootstrap member or a spare not yet started. */
  joinClusterId: string | null;
  child: ChildProcess | null;
  /** The last lines the node wrote, for diagnosing a failed test. */
  readonly output: string[];
}

/** The project root: the nearest folder above this file with a package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('cannot find the project root');
    dir = up;
  }
  return dir;
}

const root = projectRoot();

/**
 * SENDER_HEADER is the NODE_OPTIONS that make a node process name itself in an
 * X-Server-From header on every request (test/kit/sender-header.mjs): how the
 * fault network tells senders apart when every member has one url.
 */
export const SENDER_HEADER = `--import=${pathToFileURL(join(root, 'test', 'kit', 'sender-header.mjs')).href}`;
/**
 * LINK_ROUTES is the NODE_OPTIONS that take each connection a node process
 * opens to a member's url to the process's own link to that member, as its
 * FAULT_NET_ROUTES says (test/kit/link-routes.mjs): how a fault network with
 * a listener per link serves members that all hold one url per member.
 */
export const LINK_ROUTES = `--import=${pathToFileURL(join(root, 'test', 'kit', 'link-routes.mjs')).href}`;
/**
 * PARENT_WATCH is the NODE_OPTIONS every node process gets, beside any the
 * caller gives: the node ends itself once the process that started it is gone
 * (test/kit/parent-watch.mjs), however that process died.
 */
export const PARENT_WATCH = `--import=${pathToFileURL(join(root, 'test', 'kit', 'parent-watch.mjs')).href}`;
/** The quorumd command, as `npx quorumd` would run it. */
export const QUORUMD_BIN = join(root, 'bin', 'quorumd.js');
/** The node flags the command's shebang sets (a small young generation). */
export const QUORUMD_NODE_FLAGS = ['--max-semi-space-size=2'];

/** Environment variables a node never inherits from the process that starts it. */
const INHERIT_NOT = /^(QUORUMD_|NODE_OPTIONS$|NODE_V8_COVERAGE$|_TAPJS_|TAP_)/;

/**
 * How long a node may take from spawn to answering /healthz. A quiet machine
 * takes about 1.5 s; two busy cores shared with other test files, several
 * times that. Waiting long costs nothing when the node is quick.
 */
export const START_TIMEOUT_MS = 60_000;

export class ProcessCluster {
  readonly nodes = new Map<string, RunningNode>();
  /** The generated per-member credentials (no peer tokens under TLS); null in the other modes. */
  readonly credentials: ClusterCredentials | null;
  /** Under TLS, the client the kit reads statuses and reports positions with: it trusts the CA and presents no certificate. */
  readonly dispatcher: Agent | undefined;
  /** The spare members not started yet, by id (their RunningNode is in `nodes`, with no process). */
  private readonly spares: Map<string, NodeSpec>;

  private constructor(private readonly opts: ClusterOptions) {
    if (opts.perMemberCredentials && opts.token) throw new Error('a cluster takes a shared token or per-member credentials, not both');
    if (opts.tls && (opts.perMemberCredentials || opts.token)) throw new Error('a TLS cluster takes no peer or shared tokens');
    this.spares = new Map((opts.spares ?? []).map((s) => [s.id, s]));
    if (opts.specs.some((s) => this.spares.has(s.id))) throw new Error('a spare cannot also be a bootstrap member');
    const everyone = [...opts.specs, ...this.spares.values()];
    this.credentials = opts.perMemberCredentials
      ? { peerTokens: new Map(everyone.map((s) => [s.id, randomToken()])), agentToken: randomToken(), operatorToken: randomToken() }
      : opts.tls
        ? { peerTokens: new Map(), agentToken: randomToken(), operatorToken: randomToken() }
        : null;
    // The members' certificates name member ids, not 127.0.0.1: the kit checks the chain only.
    this.dispatcher = opts.tls
      ? new Agent({ connect: { ca: readFileSync(join(opts.tls.dir, 'ca.crt'), 'utf8'), checkServerIdentity: () => undefined } })
      : undefined;
  }

  /** The Authorization header a role presents: the agent's, an operator's or a member's own; none without credentials. */
  authHeader(role: 'agent' | 'operator' | { readonly peer: string }): Record<string, string> {
    if (this.opts.token) return { authorization: `Bearer ${this.opts.token}` };
    const c = this.credentials;
    if (!c) return {};
    const token = role === 'agent' ? c.agentToken : role === 'operator' ? c.operatorToken : c.peerTokens.get(role.peer);
    if (token === undefined) throw new Error('no such member');
    return { authorization: `Bearer ${token}` };
  }

  /** credentialEnv is the credential settings of node `id`. */
  private credentialEnv(id: string): Record<string, string> {
    if (this.opts.token) return { QUORUMD_TOKEN: this.opts.token };
    const c = this.credentials;
    if (!c) return {};
    if (this.opts.tls) {
      const dir = this.opts.tls.dir;
      return {
        QUORUMD_TLS_CERT: join(dir, `${id}.crt`),
        QUORUMD_TLS_KEY: join(dir, `${id}.key`),
        QUORUMD_TLS_CA: join(dir, 'ca.crt'),
        QUORUMD_AGENT_TOKENS: c.agentToken,
        QUORUMD_OPERATOR_TOKENS: c.operatorToken,
      };
    }
    const digests = Object.fromEntries([...c.peerTokens].map(([member, token]) => [member, [tokenDigest(token)]]));
    return {
      QUORUMD_PEER_TOKEN: c.peerTokens.get(id) ?? '',
      QUORUMD_PEER_CREDENTIALS: JSON.stringify(digests),
      QUORUMD_AGENT_TOKENS: c.agentToken,
      QUORUMD_OPERATOR_TOKENS: c.operatorToken,
    };
  }

  static async start(opts: ClusterOptions): Promise<ProcessCluster> {
    const cluster = new ProcessCluster(opts);
    // Spares get their port, url and folder now too, so the operator can add
    // one (putMember) before or after its process starts.
    for (const spec of [...opts.specs, ...cluster.spares.values()]) await cluster.addNode(spec);
    cluster.bootstrapMembers = cluster.membersJsonOf(opts.specs.map((s) => s.id));
    for (const spec of opts.specs) cluster.spawnNode(spec.id);
    return cluster;
  }

  /** addNode gives a member its port, url and empty data folder, without starting it. */
  private async addNode(spec: NodeSpec): Promise<RunningNode> {
    const port = await freePort();
    const dataDir = join(this.opts.dir, spec.id);
    mkdirSync(dataDir, { recursive: true });
    const n: RunningNode = {
      spec,
      port,
      url: `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      dataDir,
      joinClusterId: null,
      child: null,
      output: [],
    };
    this.nodes.set(spec.id, n);
    return n;
  }

  /**
   * The bootstrap member list every bootstrap node is given, fixed at start:
   * members added later are not in it, so a restarted node gets the very
   * settings it first started with.
   */
  private bootstrapMembers = '[]';

  get membersJson(): string {
    return this.bootstrapMembers;
  }

  /** membersJsonOf is a QUORUMD_MEMBERS value listing the given members, with the urls the kit gave them. */
  membersJsonOf(ids: readonly string[]): string {
    return JSON.stringify(
      ids.map((id) => {
        const n = this.node(id);
        return { id, url: n.url, kind: n.spec.kind, ...(n.spec.state ? { state: n.spec.state } : {}) };
      }),
    );
  }

  /** The spares not started yet. */
  get spareIds(): string[] {
    return [...this.spares.keys()];
  }

  /**
   * join starts spare `id` as a new process in join mode: an empty data
   * folder, no member list, its own url, and QUORUMD_JOIN set to the cluster
   * id a running node reports on GET /status. It resolves once the process
   * answers /healthz; it is a member only once the operator adds it
   * (putMember) and the primary's configuration reaches it.
   */
  async join(id: string, timeoutMs = START_TIMEOUT_MS): Promise<RunningNode> {
    if (!this.spares.has(id)) throw new Error(`no spare ${id}`);
    let clusterId: string | null = null;
    for (const other of this.nodes.keys()) {
      if (!this.isRunning(other)) continue;
      clusterId = (await this.status(other, 2_000))?.clusterId ?? null;
      if (clusterId) break;
    }
    if (!clusterId) throw new Error(`no running node reports a cluster id for ${id} to join`);
    this.spares.delete(id);
    const n = this.node(id);
    n.joinClusterId = clusterId;
    this.spawnNode(id);
    await this.waitUp(id, timeoutMs);
    return n;
  }

  /** putMember is the operator's PUT /members/{id} sent to node `via`. */
  putMember(
    via: string,
    id: string,
    body: unknown,
    timeoutMs = 15_000,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
    return this.operatorCall(via, 'PUT', `/members/${encodeURIComponent(id)}`, body, timeoutMs);
  }

  /** deleteMember is the operator's DELETE /members/{id} sent to node `via`. */
  deleteMember(
    via: string,
    id: string,
    timeoutMs = 15_000,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
    return this.operatorCall(via, 'DELETE', `/members/${encodeURIComponent(id)}`, undefined, timeoutMs);
  }

  /** setPaused is the operator's POST /pause (true) or POST /resume (false) sent to node `via`. */
  setPaused(
    via: string,
    paused: boolean,
    timeoutMs = 15_000,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
    return this.operatorCall(via, 'POST', paused ? '/pause' : '/resume', undefined, timeoutMs);
  }

  /** operatorCall sends a request with the operator's credential; the body is sent as JSON unless it is a string (sent as is). */
  private async operatorCall(
    via: string,
    method: 'PUT' | 'DELETE' | 'POST',
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
    const res = await request(this.node(via).url + path, {
      method,
      dispatcher: this.dispatcher,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...this.authHeader('operator') },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: the test sees the text as it came.
    }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  }

  node(id: string): RunningNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** spawnNode starts (or restarts) a node from its data folder. */
  spawnNode(id: string): ChildProcess {
    const n = this.node(id);
    const t = this.opts.timings;
    const listed = this.opts.membersFor?.(id);
    const members = listed ? this.membersJsonOf(listed) : this.membersJson;
    // Only this cluster's QUORUMD_* settings reach the node, never the caller's,
    // and never a test runner's coverage hooks: under tap, NODE_OPTIONS loads
    // its instrumentation into every child, which made a node take 8-16 s to
    // start on a busy machine. Node processes are measured for what they do
    // (the cluster, chaos and hostile suites), the code for coverage in-process.
    const inherited = Object.entries(process.env).filter(([k, v]) => v !== undefined && !INHERIT_NOT.test(k));
    const env: Record<string, string> = {
      ...(Object.fromEntries(inherited) as Record<string, string>),
      QUORUMD_ID: id,
      QUORUMD_KIND: n.spec.kind,
      QUORUMD_LISTEN: `127.0.0.1:${n.port}`,
      // A joining node has no member list: it learns the cluster from the primary.
      ...(n.joinClusterId === null ? { QUORUMD_MEMBERS: members } : { QUORUMD_JOIN: n.joinClusterId, QUORUMD_URL: n.url }),
      QUORUMD_DATA_DIR: n.dataDir,
      ...(t
        ? {
            QUORUMD_HEARTBEAT_MS: String(t.heartbeatMs),
            QUORUMD_LEASE_MS: String(t.leaseMs),
            QUORUMD_ELECTION_TIMEOUT_MS: String(t.electionTimeoutMs),
            QUORUMD_ELECTION_JITTER_MS: String(t.electionJitterMs),
          }
        : {}),
      QUORUMD_LOG_LEVEL: this.opts.logLevel ?? 'warn',
      ...this.credentialEnv(id),
      ...this.opts.env,
      ...this.opts.envFor?.(id),
    };
    env.NODE_OPTIONS = [PARENT_WATCH, env.NODE_OPTIONS].filter((o) => o).join(' ');
    const child = spawn(process.execPath, [...QUORUMD_NODE_FLAGS, QUORUMD_BIN], {
      env,
      stdio: ['ignore', this.opts.inheritOutput ? 'inherit' : 'pipe', this.opts.inheritOutput ? 'inherit' : 'pipe'],
    });
    keepOutput(child, n.output);
    reapOnExit(child);
    n.child = child;
    child.on('exit', () => {
      if (n.child === child) n.child = null;
    });
    return child;
  }

  isRunning(id: string): boolean {
    const c = this.node(id).child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  /** kill sends a signal; for SIGKILL and SIGTERM it waits for the exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.node(id).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      child.kill(signal);
      return;
    }
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill(signal);
    await exited;
  }

  async restart(id: string): Promise<void> {
    await this.kill(id, 'SIGKILL');
    this.spawnNode(id);
  }

  async get<T>(id: string, path: string, timeoutMs = 500): Promise<{ status: number; body: T } | null> {
    try {
      const res = await request(this.node(id).url + path, { dispatcher: this.dispatcher, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.body.text();
      return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T };
    } catch {
      return null;
    }
  }

  async status(id: string, timeoutMs = 500): Promise<StatusView | null> {
    const r = await this.get<StatusView>(id, '/status', timeoutMs);
    return r && r.status === 200 ? r.body : null;
  }

  /**
   * primaryHeartbeat is the heartbeat body the primary `primaryId` would send
   * now, built from what it reports on /status and /members: the material of
   * a forged heartbeat in its name, for tests that must see one refused.
   */
  async primaryHeartbeat(primaryId: string, timeoutMs = 3_000): Promise<HeartbeatBody> {
    const status = await this.status(primaryId, timeoutMs);
    const members = (await this.get<MembersView>(primaryId, '/members', timeoutMs))?.body;
    if (!status || !members) throw new Error(`${primaryId} does not answer /status and /members`);
    if (status.clusterId === null) throw new Error(`${primaryId} holds no configuration`);
    const t = status.timings;
    return {
      term: status.term,
      primaryId,
      commitWatermark: { term: status.commitWatermark.term, lsn: status.commitWatermark.lsn },
      // The configuration as the primary holds it, stamped with the heartbeat's
      // term as an honest primary's is. /status does not show the clock drift
      // bound, which no setting changes: it is the default.
      config: {
        clusterId: status.clusterId,
        term: status.term,
        version: members.version,
        members: members.members.map((m) => ({ id: m.id, url: m.url, kind: m.kind, state: m.state, ...(m.autoPromote ? {} : { autoPromote: false }) })),
        timings: {
          heartbeatMs: t.heartbeatMs,
          leaseMs: t.leaseMs,
          electionTimeoutMs: t.electionTimeoutMs,
          electionJitterMs: t.electionJitterMs,
          clockDriftBound: DEFAULT_TIMINGS.clockDriftBound,
        },
      },
    };
  }

  /** reportPosition plays the data store's agent: PUT /log on a node. */
  async reportPosition(id: string, position: { term: number; lsn: number }, timeoutMs = 500): Promise<boolean> {
    try {
      const res = await request(this.node(id).url + '/log', {
        method: 'PUT',
        dispatcher: this.dispatcher,
        headers: { 'content-type': 'application/json', ...this.authHeader('agent') },
        body: JSON.stringify(position),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** waitUp resolves once the node answers /healthz, within timeoutMs. */
  async waitUp(id: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    try {
      await waitFor(async () => (await this.get(id, '/healthz', 200))?.status === 200, timeoutMs, `${id} to come up`);
    } catch (err) {
      const n = this.node(id);
      const exit = n.child ? `running as pid ${n.child.pid}` : 'not running';
      throw new Error(`${(err as Error).message}; it is ${exit}; its last output:\n${n.output.slice(-20).join('\n')}`);
    }
  }

  /** The statuses of every running node that answers. */
  async statuses(timeoutMs = 500): Promise<Map<string, StatusView>> {
    const out = new Map<string, StatusView>();
    await Promise.all(
      [...this.nodes.keys()].map(async (id) => {
        if (!this.isRunning(id)) return;
        const s = await this.status(id, timeoutMs);
        if (s) out.set(id, s);
      }),
    );
    return out;
  }

  /**
   * agreedPrimary returns the primary and term that every given node agrees
   * on, with that primary holding its lease, or null while they do not agree.
   */
  async agreedPrimary(ids: readonly string[], timeoutMs = 500): Promise<{ primaryId: string; term: number } | null> {
    const statuses = await Promise.all(ids.map((id) => this.status(id, timeoutMs)));
    let agreed: { primaryId: string; term: number } | null = null;
    for (const s of statuses) {
      if (!s?.primaryId) return null;
      if (agreed && (agreed.primaryId !== s.primaryId || agreed.term !== s.term)) return null;
      agreed = { primaryId: s.primaryId, term: s.term };
    }
    if (!agreed) return null;
    const primary = statuses.find((s) => s?.id === agreed!.primaryId);
    if (primary && !primary.lease.holds) return null;
    return agreed;
  }

  /** waitAgreedPrimary resolves with the primary every node of `ids` agrees on, once they do, within timeoutMs. */
  async waitAgreedPrimary(ids: readonly string[], timeoutMs: number): Promise<{ primaryId: string; term: number }> {
    let agreed = null as { primaryId: string; term: number } | null;
    await waitFor(
      async () => {
        agreed = await this.agreedPrimary(ids);
        return agreed !== null;
      },
      timeoutMs,
      'the nodes to agree on a primary',
    );
    return agreed!;
  }

  /** stop ends every node: SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 3_000): Promise<void> {
    await Promise.all(
      [...this.nodes.keys()].map(async (id) => {
        const child = this.node(id).child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((res) => child.once('exit', () => res()));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    await this.dispatcher?.close();
  }
}

/** keepOutput keeps the last 200 lines a child writes, for diagnosing a failed run. */
export function keepOutput(child: ChildProcess, lines: string[]): void {
  // A pipe may cut a line between two chunks: the unfinished tail of each
  // stream waits for the rest, so a line is never kept in two halves.
  const follow = (stream: NodeJS.ReadableStream | null) => {
    let tail = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (tail + chunk.toString('utf8')).split('\n');
      tail = parts.pop() ?? '';
      for (const line of parts) if (line) lines.push(line);
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    });
    stream?.on('end', () => {
      if (tail) lines.push(tail);
      tail = '';
    });
  };
  follow(child.stdout);
  follow(child.stderr);
}

/** waitExit resolves true once the child has exited, or false after timeoutMs. */
export function waitExit(child: ChildProcess | null, timeoutMs: number): Promise<boolean> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** freePort asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** The node processes this test process started that still run. */
const running = new Set<ChildProcess>();
let reaping = false;

/**
 * reapOnExit makes sure no node outlives the test process that started it,
 * even when a test never reaches its teardown: on exit, and on a SIGTERM or
 * SIGINT no one else handles, every node still running gets SIGKILL. A
 * process with handlers of its own (the benchmarks clean up on signals) keeps
 * them; the exit hook still runs. A death no hook sees (tap ends a file that
 * outlasted its timeout with SIGALRM, then SIGKILL) is PARENT_WATCH's.
 */
function reapOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (reaping) return;
  reaping = true;
  const killAll = () => {
    for (const c of running) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}
