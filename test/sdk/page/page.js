// page.js runs one login with the Appwrite web SDK (appwrite@27, the IIFE
// bundle, global `Appwrite`) exactly as an application page would, and
// publishes what happened as window.__result for sdk_test.go to read.
//
// ?flow=session  account.createOAuth2Session: the bridge sets its session
//                cookie during the redirects; the page then calls the API
//                cross-origin with credentials.
// ?flow=token    account.createOAuth2Token, then account.createSession with
//                the userId/secret the bridge put in the success URL: the
//                SDK keeps the X-Fallback-Cookies answer in localStorage
//                and sends it back, which is how Appwrite's web SDK works
//                when the API is on another site than the page.
// Both flows then call account.createJWT and use the JWT from a second
// client (setJWT), and check that it stops working once the session is
// deleted.
(async function () {
  'use strict';
  const cfg = window.SB_CONFIG;
  const out = document.getElementById('result');
  const q = new URLSearchParams(location.search);
  const flow = q.get('flow');
  let stage = 'start';

  const finish = (r) => {
    r.flow = flow;
    r.origin = location.origin;
    window.__result = r;
    out.textContent = JSON.stringify(r, null, 2);
  };
  // summary keeps what the test asserts on; it never exposes a token.
  const summary = (s) => ({
    id: s.$id,
    userId: s.userId,
    provider: s.provider,
    current: s.current,
    hasAccessToken: typeof s.providerAccessToken === 'string' && s.providerAccessToken !== '',
    accessTokenLength: typeof s.providerAccessToken === 'string' ? s.providerAccessToken.length : -1,
    refreshTokenShown: s.providerRefreshToken !== '',
    secretShown: s.secret !== '',
    clientName: s.clientName,
    osName: s.osName,
    keys: Object.keys(s).sort(),
  });
  const errorOf = (e) => ({
    name: e && e.name, message: e && e.message, code: e && e.code, type: e && e.type,
  });

  try {
    if (typeof Appwrite === 'undefined') throw new Error('the Appwrite SDK bundle did not load');
    const client = new Appwrite.Client().setEndpoint(cfg.endpoint).setProject(cfg.project);
    const account = new Appwrite.Account(client);
    const back = (k) => `${location.origin}${location.pathname}?flow=${encodeURIComponent(flow)}&${k}=1`;

    if (q.has('failed')) {
      let err = q.get('error');
      try { err = JSON.parse(err); } catch (_) { /* keep the raw string */ }
      finish({ ok: false, stage: 'login', error: err });
      return;
    }
    if (!q.has('done')) {
      // The test calls startLogin once the page has loaded; the SDK then
      // navigates away through the bridge and the provider and back here.
      window.startLogin = () => {
        const args = { provider: cfg.provider, success: back('done'), failure: back('failed') };
        if (flow === 'session') account.createOAuth2Session(args);
        else if (flow === 'token') account.createOAuth2Token(args);
        else throw new Error('unknown flow ' + flow);
        return 'started';
      };
      out.textContent = 'ready';
      return;
    }

    const r = { ok: true };
    if (flow === 'token') {
      stage = 'createSession';
      const userId = q.get('userId');
      const secret = q.get('secret');
      if (!userId || !secret) throw new Error('success URL lacks userId or secret');
      const created = await account.createSession({ userId, secret });
      r.created = summary(created);
    }
    r.fallbackStored = localStorage.getItem('cookieFallback') !== null;

    stage = 'getSession';
    r.session = summary(await account.getSession({ sessionId: 'current' }));

    stage = 'get';
    const user = await account.get();
    r.userId = user.$id;

    stage = 'listSessions';
    const list = await account.listSessions();
    r.listed = list.sessions.filter((s) => s.current).map((s) => s.$id);

    stage = 'createJWT';
    const jwt = (await account.createJWT()).jwt;
    const jwtAccount = new Appwrite.Account(
      new Appwrite.Client().setEndpoint(cfg.endpoint).setProject(cfg.project).setJWT(jwt));
    r.jwtUserId = (await jwtAccount.get()).$id;

    stage = 'deleteSession';
    await account.deleteSession({ sessionId: 'current' });

    stage = 'JWT after delete';
    try {
      await jwtAccount.get();
      r.jwtAfterDelete = { code: 200 };
    } catch (e) {
      r.jwtAfterDelete = errorOf(e);
    }

    stage = 'get after delete';
    try {
      await account.get();
      r.afterDelete = { code: 200 };
    } catch (e) {
      r.afterDelete = errorOf(e);
    }
    finish(r);
  } catch (e) {
    finish({ ok: false, stage, error: errorOf(e) });
  }
})();
