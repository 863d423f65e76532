// node-backend.mjs drives node-appwrite (27.1.0) the way an app backend
// calls provider APIs on a user's behalf: a browser's JWT proves the
// user, the API key reads the user's identities with fresh provider
// tokens, blocks, unblocks and deletes users, and manages preferences.
//
// Environment (set by sdk_test.go): SB_ENDPOINT, SB_PROJECT, SB_API_KEY,
// SB_PROVIDER, SB_SUCCESS, SB_FAILURE as for node-flow.mjs, and
// SB_USERINFO, the fake provider's user-info URL, which accepts a valid
// access token and refuses any other.
//
// It prints one JSON line {"ok":true,...} or {"ok":false,"step":...}; no
// token or secret is ever printed.

import { Client, Account, Users, Query, AppwriteException } from 'node-appwrite';
import { env, check, expectAppwriteError, tokenLogin } from './lib.mjs';

const endpoint = env('SB_ENDPOINT');
const project = env('SB_PROJECT', 'default');
const apiKey = env('SB_API_KEY');
const provider = env('SB_PROVIDER');
const successURL = env('SB_SUCCESS');
const failureURL = env('SB_FAILURE');
const userinfo = env('SB_USERINFO');

let step = 'setup';
const results = { steps: [] };
const client = () => new Client().setEndpoint(endpoint).setProject(project);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function providerAccepts(token) {
  const res = await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } });
  return res.status === 200;
}

async function run(name, fn) {
  step = name;
  await fn();
  results.steps.push(name);
}

async function main() {
  const keyClient = client().setKey(apiKey);
  const users = new Users(keyClient);
  let session;
  await run('login', async () => {
    session = await tokenLogin(new Account(keyClient), provider, successURL, failureURL);
  });
  const userId = session.userId;
  const account = new Account(client().setSession(session.secret));

  let jwt;
  await run('account.createJWT', async () => {
    const res = await account.createJWT();
    check(typeof res.jwt === 'string' && res.jwt.split('.').length === 3, 'createJWT did not return a JWT');
    jwt = res.jwt;
    await expectAppwriteError(account.createJWT({ duration: 3601 }), 400, 'general_argument_invalid', 'createJWT(3601)');
  });
  const jwtAccount = new Account(client().setJWT(jwt));
  await run('setJWT account.get', async () => {
    const me = await jwtAccount.get();
    check(me.$id === userId, `account.get with the JWT is ${me.$id}, want ${userId}`);
  });

  let first;
  await run('users.listIdentities', async () => {
    const list = await users.listIdentities({ queries: [Query.equal('userId', userId), Query.limit(5)] });
    check(list.total === 1 && list.identities.length === 1, `listIdentities: total ${list.total}`);
    first = list.identities[0];
    check(first.provider === provider && first.userId === userId, 'identity of another user or provider');
    check(first.providerAccessToken !== '' && first.providerRefreshToken !== '' && first.providerAccessTokenExpiry !== '',
      'the API key does not see all three tokens');
    const own = await account.listIdentities();
    check(own.identities[0].providerAccessToken !== '', 'the owner does not see the access token');
    check(own.identities[0].providerRefreshToken === '', 'the owner sees the refresh token');
  });

  await run('fresh token after a background refresh', async () => {
    let ident = first;
    for (let i = 0; i < 200 && ident.providerAccessToken === first.providerAccessToken; i++) {
      await sleep(100);
      ident = (await users.listIdentities({ queries: [Query.equal('userId', userId)] })).identities[0];
    }
    check(ident.providerAccessToken !== first.providerAccessToken, 'the identity token never changed (no background refresh seen)');
    check(Date.parse(ident.providerAccessTokenExpiry) > Date.parse(first.providerAccessTokenExpiry), 'the expiry did not move forward');
    check(await providerAccepts(ident.providerAccessToken), 'the provider refuses the identity\'s access token');
  });

  await run('users.listIdentities paging', async () => {
    const all = await users.listIdentities({ queries: [Query.limit(100)], search: provider, total: true });
    check(all.total >= 1 && all.identities.some((i) => i.userId === userId), 'search by provider misses the identity');
    const after = await users.listIdentities({ queries: [Query.cursorAfter(all.identities.at(-1).$id)] });
    check(after.identities.length === 0, 'cursorAfter the last identity returns more');
    const off = await users.listIdentities({ queries: [Query.offset(1000)], total: false });
    check(off.identities.length === 0 && off.total === 0, 'total=false still counts');
    await expectAppwriteError(users.listIdentities({ queries: [Query.equal('secret', 'x')] }), 400, 'general_argument_invalid', 'unknown attribute');
  });

  await run('users.list', async () => {
    const list = await users.list({ queries: [Query.limit(1)], search: userId, total: true });
    check(list.total === 1 && list.users.length === 1 && list.users[0].$id === userId, `users.list: total ${list.total}`);
    check(list.users[0].status === true, 'a fresh user is not active');
    const next = await users.list({ queries: [Query.cursorAfter(userId), Query.offset(0)] });
    check(!next.users.some((u) => u.$id === userId), 'cursorAfter returns the cursor itself');
  });

  await run('prefs and name', async () => {
    const u = await account.updatePrefs({ prefs: { theme: 'dark' } });
    check(u.prefs.theme === 'dark', 'account.updatePrefs did not answer the user with the prefs');
    check((await account.getPrefs()).theme === 'dark', 'account.getPrefs');
    const p = await users.updatePrefs({ userId, prefs: { lang: 'fr' } });
    check(p.lang === 'fr' && p.theme === undefined, 'users.updatePrefs does not replace');
    check((await users.getPrefs({ userId })).lang === 'fr', 'users.getPrefs');
    const named = await account.updateName({ name: 'Ada B.' });
    check(named.name === 'Ada B.', 'account.updateName');
    check((await users.get({ userId })).name === 'Ada B.', 'users.get name');
  });

  let keyJWT;
  await run('users.createJWT', async () => {
    keyJWT = (await users.createJWT({ userId })).jwt;
    check((await new Account(client().setJWT(keyJWT)).get()).$id === userId, 'users.createJWT JWT does not authenticate');
  });

  await run('users.updateStatus(false)', async () => {
    const u = await users.updateStatus({ userId, status: false });
    check(u.status === false, 'updateStatus(false) answered status true');
    const res = await fetch(`${endpoint}/account`, { headers: { cookie: `a_session_${project}=${session.secret}`, 'x-appwrite-project': project } });
    const body = await res.json();
    check(res.status === 401 && body.type === 'user_blocked', `the user's cookie got ${res.status} ${body.type}`);
    await expectAppwriteError(account.get(), 401, 'user_blocked', 'account.get of a blocked user');
    await expectAppwriteError(jwtAccount.get(), 401, 'user_blocked', 'JWT of a blocked user');
  });

  await run('users.updateStatus(true)', async () => {
    check((await users.updateStatus({ userId, status: true })).status === true, 'updateStatus(true)');
    check((await account.get()).$id === userId, 'account.get after unblocking');
  });

  await run('users.deleteIdentity', async () => {
    const ident = (await account.listIdentities()).identities[0];
    await users.deleteIdentity({ identityId: ident.$id });
    await expectAppwriteError(account.get(), 401, 'general_unauthorized_scope', 'account.get after its identity was deleted');
    await expectAppwriteError(jwtAccount.get(), 401, 'general_unauthorized_scope', 'JWT after its session ended');
    const left = await users.listIdentities({ queries: [Query.equal('userId', userId)] });
    check(left.total === 0, 'the identity is still listed');
    await expectAppwriteError(users.deleteIdentity({ identityId: ident.$id }), 404, 'user_identity_not_found', 'second deleteIdentity');
  });

  await run('users.delete', async () => {
    await users.delete({ userId });
    await expectAppwriteError(users.get({ userId }), 404, 'user_not_found', 'users.get after delete');
    await expectAppwriteError(users.delete({ userId }), 404, 'user_not_found', 'second users.delete');
  });
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
