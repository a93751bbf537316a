// `quorumd ctl`: the operator's command line. It reaches the cluster through
// any member's url (src/ctl/connection.ts), asks the HTTP API, and prints a
// table (src/ctl/format.ts) or, with --json, the API's JSON. Commands that
// only the primary performs find the primary in GET /cluster first; `why ID`
// asks member ID itself (GET /why), except a witness, which never stands.
// Exit status: 0 done; 1 the cluster refused, or could not be reached, with
// one line on stderr saying why; 2 a command line that cannot be run.

import { quorumSize } from '../core/index.js';
import type { ClusterView, HistoryEntry, WhyReply } from '../runtime/service.js';
import type { MembershipChangeReply, SwitchoverReply } from '../schemas.js';
import type { Static } from '@sinclair/typebox';
import { CTL_USAGE, UsageError, parseCtlArgs, wantsCtlHelp, type Command } from './args.js';
import { CtlClient, CtlError } from './client.js';
import { SettingsError, resolveConnection } from './connection.js';
import { formatCluster, formatHistory, formatWhy } from './format.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CtlIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** What a command printed for a person, and its JSON. */
interface Output {
  readonly text: string;
  readonly json: unknown;
}

/** runCtl runs one `quorumd ctl` command line (the words after "ctl") and returns the exit status. */
export async function runCtl(argv: readonly string[], env: NodeJS.ProcessEnv, io: CtlIo = process): Promise<number> {
  if (wantsCtlHelp(argv)) {
    io.stdout.write(CTL_USAGE);
    return EXIT_OK;
  }
  let client: CtlClient;
  let json: boolean;
  let command: Command;
  try {
    const parsed = parseCtlArgs(argv);
    command = parsed.command;
    json = parsed.options.json;
    client = new CtlClient(resolveConnection(parsed.options, env));
  } catch (err) {
    if (err instanceof UsageError || err instanceof SettingsError) {
      io.stderr.write(`quorumd ctl: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  try {
    const out = await perform(client, command);
    io.stdout.write(json ? `${JSON.stringify(out.json, null, 2)}\n` : out.text);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof CtlError)) throw err;
    io.stderr.write(`quorumd ctl: ${err.message}\n`);
    return EXIT_FAILED;
  } finally {
    await client.close();
  }
}

async function perform(client: CtlClient, command: Command): Promise<Output> {
  switch (command.name) {
    case 'list': {
      const view = await cluster(client);
      return { text: formatCluster(view), json: view };
    }
    case 'history': {
      const entries = await history(client);
      return { text: formatHistory(entries), json: entries };
    }
    case 'switchover':
      return switchover(client, command.to);
    case 'pause':
    case 'resume': {
      const { body } = await client.send<ChangeReply>(client.url, 'POST', `/${command.name}`);
      // Said as the state the reply shows: a resume with no primary is made by
      // the election it causes, so the change it then asks for is unchanged.
      const state = body.paused ? 'automatic failover paused (maintenance mode)' : 'automatic failover resumed';
      return change(body, state, state);
    }
    case 'why':
      return why(client, command.id);
    case 'members-add': {
      const { body } = await client.send<ChangeReply>(client.url, 'PUT', `/members/${command.id}`, {
        url: command.url,
        kind: command.kind,
        ...(command.autoPromote ? {} : { autoPromote: false }),
        ...(command.priority === null ? {} : { priority: command.priority }),
      });
      return change(body, `${command.id} added as a ${command.kind} member`);
    }
    case 'members-remove': {
      const { body } = await client.send<ChangeReply>(client.url, 'DELETE', `/members/${command.id}`);
      return change(body, `${command.id} removed`);
    }
    case 'members-promote': {
      const member = (await cluster(client)).members.find((m) => m.id === command.id);
      if (!member) throw new CtlError(`${command.id} is not a member of the cluster`);
      const { body } = await client.send<ChangeReply>(client.url, 'PUT', `/members/${command.id}`, { url: member.url, kind: member.kind, state: 'voting' });
      return change(body, `${command.id} promoted to a voter`);
    }
  }
}

type ChangeReply = Static<typeof MembershipChangeReply>;

function cluster(client: CtlClient): Promise<ClusterView> {
  return client.send<ClusterView>(client.url, 'GET', '/cluster').then((a) => a.body);
}

/** change words a change's reply: `done` if it changed something, else `unchanged` (by default, that nothing had to). */
function change(reply: ChangeReply, done: string, unchanged = 'nothing to change: the configuration already says so'): Output {
  const what = reply.status === 'unchanged' ? unchanged : done;
  const text =
    `${what}; configuration version ${reply.version} in force (${reply.status}): ${reply.voters} voters, quorum ${reply.quorum}` +
    `${reply.paused ? ', automatic failover paused' : ''}\n` +
    `members: ${reply.members.map((m) => `${m.id} (${m.kind}, ${m.state}${m.priority === undefined ? '' : `, priority ${m.priority}`})`).join(', ')}\n`;
  return { text, json: reply };
}

/**
 * history merges every reachable member's GET /history by term: each member
 * knows the terms it saw, and only a term's winner knows why its election
 * began and how long it took, so the winner's entry is kept where there is one.
 */
async function history(client: CtlClient): Promise<HistoryEntry[]> {
  const view = await cluster(client);
  const answers = await Promise.all(
    view.members.map((m) =>
      client.send<HistoryEntry[]>(m.url, 'GET', '/history').then(
        (a) => a.body,
        () => [] as HistoryEntry[],
      ),
    ),
  );
  const byTerm = new Map<number, HistoryEntry>();
  for (const e of answers.flat()) {
    const seen = byTerm.get(e.term);
    if (!seen || (!seen.election && e.election)) byTerm.set(e.term, e);
  }
  return [...byTerm.values()].sort((a, b) => a.term - b.term);
}

/** switchover asks the primary (found in GET /cluster): only the primary hands over. */
async function switchover(client: CtlClient, to: string | null): Promise<Output> {
  const view = await cluster(client);
  const primary = view.members.find((m) => m.id === view.primaryId);
  if (!primary) throw new CtlError(`no primary is known${view.view === 'partial' ? ` (${view.viewedBy}: ${view.partialBecause ?? 'partial view'})` : ''}`);
  // A refusal or an abandoned switchover is a 409 in the API's error shape: send reports it and exits 1.
  const { body } = await client.send<Static<typeof SwitchoverReply>>(primary.url, 'POST', '/switchover', to === null ? {} : { target: to }, [200, 202]);
  switch (body.status) {
    case 'completed':
      return { text: `switchover completed: ${body.target} is the primary of term ${body.term} (was ${primary.id})\n`, json: body };
    case 'started':
      return { text: `switchover started: ${body.target} is standing; quorumd ctl list shows when it leads\n`, json: body };
  }
}

/**
 * why asks member `id` itself whether it would be elected now. A witness
 * never stands, so it is answered from the cluster view without asking
 * anyone (it may be down, and its answer could only say the same).
 */
async function why(client: CtlClient, id: string): Promise<Output> {
  const view = await cluster(client);
  const member = view.members.find((m) => m.id === id);
  if (!member) throw new CtlError(`${id} is not a member of the cluster (${view.members.map((m) => m.id).join(', ')})`);
  let reply: WhyReply;
  if (member.kind === 'witness') {
    reply = {
      candidateId: id,
      kind: 'witness',
      term: (member.term ?? view.term) + 1,
      position: null,
      config: view.config,
      electable: false,
      notElectableBecause: 'a witness never stands',
      probed: false,
      votes: 0,
      needed: quorumSize(view.voters),
      wouldWin: false,
      voters: [],
    };
  } else {
    try {
      reply = (await client.send<WhyReply>(member.url, 'GET', '/why')).body;
    } catch (err) {
      // It could not be asked (down, cut off): say what the cluster view knows of it too.
      if (!(err instanceof CtlError)) throw err;
      const seen = member.electable ? 'electable' : `not electable: ${member.notElectableBecause ?? 'unknown'}`;
      throw new CtlError(`${err.message}; the ${view.view} view of ${view.viewedBy} says ${id} is ${seen}`);
    }
  }
  return { text: formatWhy(reply), json: reply };
}
