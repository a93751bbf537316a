// `node dist/scripts/demo-store.js`: the demo data store on its own, for the
// docker-compose cluster. It reads the same QUORUMD_MEMBERS and QUORUMD_TOKEN
// as the nodes, writes on the primary, replicates to the other data members
// with lag, and reports every data member's position through PUT /log.

import { DemoStore } from './lib/demo-store.js';

const members = JSON.parse(process.env.QUORUMD_MEMBERS ?? '[]') as Array<{ id: string; url: string; kind: string }>;
const data = members.filter((m) => m.kind === 'data');
if (data.length === 0) {
  process.stderr.write('demo-store: QUORUMD_MEMBERS must list at least one data member\n');
  process.exit(2);
}
const store = new DemoStore(data, process.env.QUORUMD_TOKEN || null);
store.start();
const timer = setInterval(() => {
  process.stdout.write(`acknowledged writes up to ${store.acknowledged.term}/${store.acknowledged.lsn}\n`);
}, 5000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    store.stop();
    clearInterval(timer);
    process.exit(0);
  });
}
