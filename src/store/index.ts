// The node's durable state store: the contract, the atomic file store and the
// in-memory store, and the filesystem interface the file store runs on.
export { StateFileError, StateWriteError, type StateStore } from './store.js';
export { FileStore, STATE_FILE_NAME, type SaveStep } from './file-store.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { nodeFs, errnoError, type Fs } from './fs-ops.js';
export { STATE_FORMAT_VERSION, checkHardState, copyHardState, decodeStateFile, encodeStateFile, type Decoded } from './state-codec.js';
