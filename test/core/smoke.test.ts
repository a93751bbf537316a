import t from 'tap';
import { quorumSize } from '../../src/core/index.js';
t.test('quorum of three voters is two', async (t) => {
  t.equal(quorumSize(3), 2);
});
