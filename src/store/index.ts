// The node's durable state store: the contract, the atomic file store and the
// in-memory store, the filesystem interface the file store runs on, and the
// lock that keeps a data folder to one process.
export { StateFileError, StateWriteError, type StateStore } from './store.js';
export { FileStore, STATE_FILE_NAME, type SaveStep } from './file-store.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { nodeFs, errnoError, type Fs } from './fs-ops.js';
export { STATE_FORMAT_VERSION, checkHardState, copyHardState, decodeStateFile, encodeStateFile, type Decoded } from './state-codec.js';
export { DataDirLock, DataDirLockedError, LOCK_FILE_NAME, processIsAlive, type DataDirLockOptions, type LockHolder } from './data-dir-lock.js';
