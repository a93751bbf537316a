// The maintenance routes over the real app and a recording service: POST
// /pause and POST /resume ask the service for the one configuration change,
// answer the configuration in force with its paused flag, take only the
// operator's credential, and pass a refusal on with its status and code.

import t from 'tap';
import { ApiError } from '../../src/errors.js';
import { actions, auth, clusterConfig, isErrorBody, setup } from './fixtures/helpers.js';

for (const [url, paused] of [
  ['/pause', true],
  ['/resume', false],
] as const) {
  t.test(`POST ${url} asks for the change and answers the configuration in force`, async (t) => {
    const { app, service } = setup(t);
    service.changeReply = { status: 'committed', config: { ...clusterConfig(), version: 5, ...(paused ? { paused: true } : {}) } };
    const res = await app.inject({ method: 'POST', url, headers: auth });
    t.equal(res.statusCode, 200);
    t.strictSame(actions(service), [{ method: 'changeMembers', args: [{ op: 'pause', paused }] }], 'one change, of the paused flag');
    t.match(res.json(), { status: 'committed', version: 5, paused });
  });
}

t.test('without the operator credential nothing is asked of the service', async (t) => {
  const { app, service } = setup(t);
  const none = await app.inject({ method: 'POST', url: '/pause' });
  t.equal(none.statusCode, 401);
  t.ok(isErrorBody(none.json()), 'the error shape');
  const wrong = await app.inject({ method: 'POST', url: '/resume', headers: { authorization: 'Bearer not-the-token-at-all' } });
  t.equal(wrong.statusCode, 401);
  t.same(actions(service), [], 'the service was not asked');
});

t.test('a refusal comes back with its status and code', async (t) => {
  const { app, service } = setup(t);
  service.changeFailsWith = new ApiError(409, 'change_in_progress', 'the change to version 4 is not committed yet');
  const res = await app.inject({ method: 'POST', url: '/pause', headers: auth });
  t.equal(res.statusCode, 409);
  t.match(res.json(), { error: { code: 'change_in_progress' } });
});
