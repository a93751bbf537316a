// Loaded into each node process behind the fault network by the chaos suite
// (node --import, through NODE_OPTIONS; see LINK_ROUTES in cluster.ts): every
// TCP connection the process opens to a member's url goes to that member
// through the process's own link instead.
//
// Why: the replicated configuration gives each member one url for all, but a
// cut link must treat each sender on its own. A header-routed listener serves
// every sender on one port, so it can reset a sender's connections but not
// refuse them: a refused connect comes before any header. With a listener per
// link (the fault network's `port` senders) a cut link stops listening and
// connecting is refused, as under a firewall REJECT rule or a stale url. This
// hook makes a member's one url lead to the link of the process that connects:
// FAULT_NET_ROUTES maps the url's port to the link's port, for this process.
// Every connection follows it: undici's requests, and the primary watch's bare
// probe of the primary's port, which a refusing link then refuses too.

import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const raw = process.env.FAULT_NET_ROUTES;
if (raw) {
  const routes = new Map(Object.entries(JSON.parse(raw)).map(([from, to]) => [Number(from), Number(to)]));
  const loopback = new Set([undefined, '127.0.0.1', 'localhost']);
  const connect = net.connect;
  const routed = function connectThroughLink(...args) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && !Array.isArray(first) && loopback.has(first.host)) {
      const port = routes.get(Number(first.port));
      if (port !== undefined) args[0] = { ...first, port };
    } else if (typeof first === 'number' || typeof first === 'string') {
      const port = routes.get(Number(first));
      if (port !== undefined && loopback.has(typeof args[1] === 'string' ? args[1] : undefined)) args[0] = port;
    }
    return connect.apply(this, args);
  };
  net.connect = routed;
  net.createConnection = routed;
  // ES modules that import { connect } from 'node:net' see the routed one too.
  syncBuiltinESMExports();
}
