// node-flow.mjs drives node-appwrite (the server SDK) through a whole
// OAuth2 token login against a running sessionbridge, the way a backend
// would use it, and checks every answer against Appwrite's models.
//
// Environment (set by sdk_test.go):
//   SB_ENDPOINT  http://127.0.0.1:PORT/v1
//   SB_PROJECT   the project ID (default "default")
//   SB_API_KEY   an API key with every scope
//   SB_PROVIDER  the provider key (an OIDC provider that auto-approves)
//   SB_SUCCESS   success URL (allow-listed); the walk stops when sent there
//   SB_FAILURE   failure URL (allow-listed)
//
// On success it prints one JSON line {"ok":true,...} and exits 0. On any
// failure it prints {"ok":false,"step":...,"error":...} and exits 1; no
// token or secret is ever printed.

import { Client, Account, Users, AppwriteException } from 'node-appwrite';
import { env, check, CheckError, follow as walk, expectAppwriteError } from './lib.mjs';

const follow = (url) => walk(url, successURL, failureURL);

const endpoint = env('SB_ENDPOINT');
const project = env('SB_PROJECT', 'default');
const apiKey = env('SB_API_KEY');
const provider = env('SB_PROVIDER');
const successURL = env('SB_SUCCESS');
const failureURL = env('SB_FAILURE');

let step = 'setup';
const results = { steps: [] };

/** The keys and JSON types of Appwrite's Session model (CONTRACT §5). */
const sessionStringKeys = [
  '$id', '$createdAt', '$updatedAt', 'userId', 'expire', 'provider', 'providerUid',
  'providerAccessToken', 'providerAccessTokenExpiry', 'providerRefreshToken', 'ip',
  'osCode', 'osName', 'osVersion', 'clientType', 'clientCode', 'clientName',
  'clientVersion', 'clientEngine', 'clientEngineVersion', 'deviceName', 'deviceBrand',
  'deviceModel', 'countryCode', 'countryName', 'secret', 'mfaUpdatedAt',
];
const dateRE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;

function checkSession(s, what) {
  check(s && typeof s === 'object', `${what}: not an object`);
  for (const k of sessionStringKeys) {
    check(k in s, `${what}: key ${k} missing`);
    check(typeof s[k] === 'string', `${what}: ${k} is ${s[k] === null ? 'null' : typeof s[k]}, want string`);
  }
  check(typeof s.current === 'boolean', `${what}: current is ${typeof s.current}, want boolean`);
  check(Array.isArray(s.factors) && s.factors.every((f) => typeof f === 'string'),
    `${what}: factors is not an array of strings`);
  for (const k of ['$createdAt', '$updatedAt', 'expire']) {
    check(dateRE.test(s[k]), `${what}: ${k} ${JSON.stringify(s[k])} is not an Appwrite date`);
  }
  if (s.providerAccessTokenExpiry !== '') {
    check(dateRE.test(s.providerAccessTokenExpiry), `${what}: providerAccessTokenExpiry is not an Appwrite date`);
  }
  check(s.provider === provider, `${what}: provider ${JSON.stringify(s.provider)}, want ${JSON.stringify(provider)}`);
  check(s.providerUid !== '', `${what}: providerUid is empty`);
  check(s.factors.includes('oauth2'), `${what}: factors ${JSON.stringify(s.factors)} lacks "oauth2"`);
}

async function main() {
  const keyClient = new Client().setEndpoint(endpoint).setProject(project).setKey(apiKey);
  const keyAccount = new Account(keyClient);
  const users = new Users(keyClient);

  step = 'createOAuth2Token';
  const loginURL = await keyAccount.createOAuth2Token({ provider, success: successURL, failure: failureURL });
  check(typeof loginURL === 'string' && loginURL !== '', 'createOAuth2Token returned no URL');
  const endpointOrigin = new URL(endpoint).origin;
  check(new URL(loginURL).origin === endpointOrigin,
    `createOAuth2Token Location origin ${new URL(loginURL).origin}, want the bridge's own origin ${endpointOrigin} (the bind hop)`);
  results.steps.push(step);

  step = 'browser redirects';
  const walk = await follow(loginURL);
  results.hops = walk.hops;
  check(walk.final.startsWith(successURL),
    `login ended at the failure URL: ${new URL(walk.final).searchParams.get('error') ?? walk.final}`);
  const q = new URL(walk.final).searchParams;
  const userId = q.get('userId');
  const secret = q.get('secret');
  check(userId && secret, 'success URL lacks userId or secret');
  results.steps.push(step);

  step = 'createSession';
  const created = await keyAccount.createSession({ userId, secret });
  checkSession(created, 'createSession');
  check(created.userId === userId, `createSession userId ${created.userId}, want ${userId}`);
  check(created.secret !== '', 'createSession with an API key: secret is empty, want the setSession value');
  check(created.current === true, 'createSession: the created session is not current (Appwrite marks it current)');
  results.steps.push(step);

  step = 'createSession replay';
  await expectAppwriteError(keyAccount.createSession({ userId, secret }), 401, 'user_invalid_token',
    'second createSession with the same single-use token');
  results.steps.push(step);

  const sessClient = new Client().setEndpoint(endpoint).setProject(project).setSession(created.secret);
  const account = new Account(sessClient);

  step = 'account.get';
  const user = await account.get();
  check(user.$id === userId, `account.get $id ${user.$id}, want ${userId}`);
  for (const k of ['$id', '$createdAt', '$updatedAt', 'name', 'registration', 'passwordUpdate', 'email', 'phone', 'accessedAt']) {
    check(typeof user[k] === 'string', `User.${k} is ${typeof user[k]}, want string`);
  }
  for (const k of ['status', 'emailVerification', 'phoneVerification', 'mfa']) {
    check(typeof user[k] === 'boolean', `User.${k} is ${typeof user[k]}, want boolean`);
  }
  check(Array.isArray(user.labels), 'User.labels is not an array');
  check(user.prefs !== null && typeof user.prefs === 'object' && !Array.isArray(user.prefs), 'User.prefs is not an object');
  results.user = { email: user.email, name: user.name };
  results.steps.push(step);

  step = 'account.getSession(current)';
  const cur = await account.getSession({ sessionId: 'current' });
  checkSession(cur, 'getSession(current)');
  check(cur.$id === created.$id, `getSession(current) $id ${cur.$id}, want ${created.$id}`);
  check(cur.current === true, 'getSession(current).current is false');
  check(cur.providerAccessToken !== '', 'owner sees an empty providerAccessToken');
  check(cur.providerRefreshToken === '', 'owner sees providerRefreshToken; it is for API keys only');
  check(cur.secret === '', 'getSession(current) shows a secret');
  results.session = {
    provider: cur.provider, clientName: cur.clientName, osName: cur.osName,
    countryCode: cur.countryCode, factors: cur.factors, hasAccessTokenExpiry: cur.providerAccessTokenExpiry !== '',
  };
  results.steps.push(step);

  step = 'account.getSession(id)';
  const byId = await account.getSession({ sessionId: cur.$id });
  check(byId.$id === cur.$id && byId.current === true, 'getSession by ID does not return the current session');
  results.steps.push(step);

  step = 'account.listSessions';
  const list = await account.listSessions();
  check(typeof list.total === 'number' && Array.isArray(list.sessions), 'listSessions: not {total, sessions}');
  check(list.total === list.sessions.length, `listSessions total ${list.total} != ${list.sessions.length} sessions`);
  list.sessions.forEach((s, i) => checkSession(s, `listSessions[${i}]`));
  const mine = list.sessions.filter((s) => s.$id === cur.$id);
  check(mine.length === 1 && mine[0].current === true, 'listSessions lacks the current session marked current');
  results.steps.push(step);

  step = 'account.updateSession(current)';
  const upd = await account.updateSession({ sessionId: 'current' });
  checkSession(upd, 'updateSession(current)');
  check(upd.$id === cur.$id, 'updateSession returned another session');
  check(upd.providerAccessToken !== '' && upd.providerAccessToken !== cur.providerAccessToken,
    'updateSession did not refresh the provider access token');
  check(Date.parse(upd.expire) >= Date.parse(cur.expire), `updateSession moved expire back: ${cur.expire} -> ${upd.expire}`);
  check(upd.providerRefreshToken === '', 'owner sees providerRefreshToken after updateSession');
  const again = await account.getSession({ sessionId: 'current' });
  check(again.providerAccessToken === upd.providerAccessToken, 'getSession after updateSession shows an older access token');
  results.steps.push(step);

  step = 'users.get';
  const u2 = await users.get({ userId });
  check(u2.$id === userId, 'users.get returned another user');
  results.steps.push(step);

  step = 'users.listSessions';
  const ul = await users.listSessions({ userId });
  check(ul.total >= 1 && Array.isArray(ul.sessions), 'users.listSessions: no sessions');
  ul.sessions.forEach((s, i) => checkSession(s, `users.listSessions[${i}]`));
  const viaKey = ul.sessions.find((s) => s.$id === cur.$id);
  check(viaKey, 'users.listSessions lacks the session');
  check(viaKey.providerRefreshToken !== '', 'API key sees an empty providerRefreshToken');
  check(viaKey.providerAccessToken === upd.providerAccessToken, 'API key sees another access token than the owner');
  check(viaKey.current === false, 'session is current for an API-key caller');
  check(viaKey.secret === '', 'users.listSessions shows a secret');
  results.steps.push(step);

  step = 'account.deleteSession(current)';
  const del = await account.deleteSession({ sessionId: 'current' });
  check(del === '' || del === null || (typeof del === 'object' && Object.keys(del).length <= 1),
    `deleteSession returned ${JSON.stringify(del)}`);
  results.steps.push(step);

  step = 'account.get after delete';
  await expectAppwriteError(account.get(), 401, 'general_unauthorized_scope', 'account.get after deleteSession');
  results.steps.push(step);

  step = 'users.listSessions after delete';
  const after = await users.listSessions({ userId });
  check(!after.sessions.some((s) => s.$id === cur.$id), 'deleted session still listed for the API key');
  results.steps.push(step);

  step = 'guest';
  const guest = new Account(new Client().setEndpoint(endpoint).setProject(project));
  await expectAppwriteError(guest.get(), 401, 'general_unauthorized_scope', 'account.get without a session');
  results.steps.push(step);
}

try {
  await main();
  console.log(JSON.stringify({ ok: true, ...results }));
} catch (e) {
  const detail = e instanceof AppwriteException
    ? `AppwriteException ${e.code} ${e.type}: ${e.message}`
    : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  console.log(JSON.stringify({ ok: false, step, error: detail, ...results }));
  process.exitCode = 1;
}
