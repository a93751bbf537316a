// tap's coverage map: which source files each test file's coverage counts
// for. An empty list is tap's default (every file); null collects none.
//
// The chaos suite collects none. The product runs there in node processes,
// which carry no coverage hooks, and what the file runs of its own the other
// tests cover; but coverage in its own process is an inspector session that
// counts every call for the suite's minutes, and two CI runs saw that process,
// its tests passed and every handle closed, stay busy at full CPU until tap's
// timeout, where the session's work at exit is what was left to run.
export default (testFile) => (testFile.startsWith('test/chaos/') ? null : []);
