// lib.mjs holds what the node-appwrite scripts share: environment
// reading, checks, Appwrite error expectations and the browser-like
// redirect walk of a login. No token or secret is ever printed.

import { AppwriteException } from 'node-appwrite';

export const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
  return v;
};

export class CheckError extends Error {}

export function check(cond, msg) {
  if (!cond) throw new CheckError(msg);
}

/**
 * follow walks a redirect chain like a browser would: manual redirects,
 * cookies kept per origin, stopping when the next hop is the success or
 * failure URL (which need not be served by anyone).
 */
export async function follow(startURL, successURL, failureURL) {
  const jar = new Map(); // origin -> Map(name -> value)
  let url = startURL;
  const hops = [];
  for (let i = 0; i < 20; i++) {
    if (url.startsWith(successURL) || url.startsWith(failureURL)) {
      return { final: url, hops };
    }
    const u = new URL(url);
    const cookies = jar.get(u.origin) ?? new Map();
    const headers = { accept: 'text/html' };
    if (cookies.size > 0) {
      headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const res = await fetch(url, { redirect: 'manual', headers });
    hops.push(`${res.status} ${u.origin}${u.pathname}`);
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(-\d+|0)\s*$/i.test(a)) || value === '';
      if (!jar.has(u.origin)) jar.set(u.origin, new Map());
      if (expired) jar.get(u.origin).delete(name);
      else jar.get(u.origin).set(name, value);
    }
    if (res.status < 300 || res.status >= 400) {
      const body = (await res.text()).slice(0, 300).replace(/\s+/g, ' ');
      throw new CheckError(`redirect chain stopped at ${u.origin}${u.pathname} with ${res.status}: ${body} (hops: ${hops.join(' -> ')})`);
    }
    const loc = res.headers.get('location');
    check(loc, `${res.status} from ${u.origin}${u.pathname} without Location`);
    url = new URL(loc, url).toString();
  }
  throw new CheckError(`more than 20 redirects (hops: ${hops.join(' -> ')})`);
}

export async function expectAppwriteError(promise, code, type, what) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof AppwriteException, `${what}: threw ${e?.name}: ${e?.message}, want AppwriteException`);
    check(e.code === code, `${what}: code ${e.code}, want ${code}`);
    check(e.type === type, `${what}: type ${JSON.stringify(e.type)}, want ${JSON.stringify(type)}`);
    return e;
  }
  throw new CheckError(`${what}: succeeded, want AppwriteException ${code} ${type}`);
}

/**
 * tokenLogin signs in through createOAuth2Token and createSession, as a
 * backend does for a browser it redirects, and returns the new session
 * (its secret is the setSession value).
 */
export async function tokenLogin(keyAccount, provider, successURL, failureURL) {
  const loginURL = await keyAccount.createOAuth2Token({ provider, success: successURL, failure: failureURL });
  const walk = await follow(loginURL, successURL, failureURL);
  check(walk.final.startsWith(successURL), 'login ended at the failure URL');
  const q = new URL(walk.final).searchParams;
  const userId = q.get('userId');
  const secret = q.get('secret');
  check(userId && secret, 'success URL lacks userId or secret');
  return keyAccount.createSession({ userId, secret });
}
