#!/usr/bin/env node
// The quorumd command. The TypeScript sources are compiled to dist/ by
// `npm run build`; see src/cli.ts.
import { run } from '../dist/src/cli.js';

await run(process.argv.slice(2), process.env);
