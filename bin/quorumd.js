#!/usr/bin/env -S node --max-semi-space-size=2
// The quorumd command. The TypeScript sources are compiled to dist/ by
// `npm run build`; see src/cli.ts. A node's garbage is small and short-lived
// (heartbeats, votes): a small young generation keeps its resident memory
// near 80 MB instead of over 100 MB, at the price of more, very short,
// scavenges. The shebang sets it; the Dockerfile and the test clusters pass it
// to node themselves.
import { run } from '../dist/src/cli.js';

await run(process.argv.slice(2), process.env);
