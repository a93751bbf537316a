// The pure protocol core: no I/O, no clock, no randomness of its own.
export * from './position.js';
export * from './membership.js';
export * from './cluster-config.js';
export * from './messages.js';
export * from './events.js';
export * from './vote.js';
export * from './tally.js';
export * from './watermark.js';
export * from './timeout.js';
export * from './timings.js';
export * from './random.js';
export * from './node.js';
export { MAX_TERM } from './wire-types.js';
