// The one way the console talks to the API.
//
// The access token lives in this module's memory only. The refresh token is an
// HttpOnly cookie no script can read (docs/api.md, "Browser sessions"); a reload
// refreshes with it, sending the CSRF cookie's value back as a header. Refreshes are
// serialised across tabs with a Web Lock: two tabs presenting the same refresh token
// at once would look like token theft and end the session.

const JSON_TYPE = "application/json";
export const CSRF_COOKIE = "__Host-kuploy_csrf";
/** Sent with every request that may answer tokens: the refresh token comes back as a cookie. */
export const COOKIE_DELIVERY = Object.freeze({ "X-Token-Delivery": "cookie" });

let accessToken = null;
let expiresAt = 0;
let refreshTimer = null;
let refreshing = null;
let reauthenticate = null;
const signedOutListeners = new Set();

/** A problem document (RFC 9457) as an exception: status, code, detail, field errors. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Kuploy answered ${status}.`);
    this.status = status;
    this.code = problem.code || "error";
    this.problem = problem;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = null;
  }
}

function readCookie(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : "";
}

/** Whether this browser holds a session the refresh cookie could resume. */
export function hasBrowserSession() {
  return readCookie(CSRF_COOKIE) !== "";
}

export function isSignedIn() {
  return accessToken !== null;
}

function schedule() {
  window.clearTimeout(refreshTimer);
  const wait = Math.max(5_000, expiresAt - Date.now() - 60_000);
  refreshTimer = window.setTimeout(() => {
    refresh().catch(() => {});
  }, wait);
}

/** Keep the tokens of a sign-in, 2FA step, provider exchange or re-authentication. */
export function acceptTokens(tokens) {
  accessToken = tokens.access_token;
  expiresAt = Date.now() + tokens.expires_in * 1000;
  schedule();
}

function forget() {
  accessToken = null;
  window.clearTimeout(refreshTimer);
}

export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

function signedOut() {
  forget();
  for (const listener of signedOutListeners) listener();
}

/** The sudo prompt (lib/sudo.js) registers itself here; resolves true once re-authenticated. */
export function setReauthenticator(prompt) {
  reauthenticate = prompt;
}

async function send(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { Accept: JSON_TYPE, ...headers }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = JSON_TYPE;
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: "network_error", detail: "Kuploy could not be reached. Check your connection and try again." });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" && !Array.isArray(data) ? data : {};
    const error = new ApiError(response.status, problem);
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) {
      error.retryAfter = Number(retryAfter);
      if (error.code === "rate_limited") error.message = `${error.message} Try again in ${retryAfter} s.`;
    }
    throw error;
  }
  return data;
}

/** Resume or extend the session with the refresh cookie. True when it worked. */
export async function refresh() {
  if (refreshing) return refreshing;
  const run = async () => {
    if (!hasBrowserSession()) return false;
    try {
      const tokens = await send("POST", "/auth/refresh", {
        body: {},
        headers: { ...COOKIE_DELIVERY, "X-CSRF-Token": readCookie(CSRF_COOKIE) },
      });
      acceptTokens(tokens);
      return true;
    } catch (error) {
      if (error.status === 0 || error.status >= 500) throw error;
      forget();
      return false;
    }
  };
  refreshing = navigator.locks ? navigator.locks.request("kuploy-refresh", run) : run();
  try {
    return await refreshing;
  } finally {
    refreshing = null;
  }
}

/**
 * Call the API: api("POST", "/orgs", {body: {name}, idempotencyKey}).
 * An expired access token is refreshed once and the call repeated; a sensitive action
 * that needs a fresh sign-in opens the sudo prompt and is repeated after it.
 * Options: body, headers, idempotencyKey, auth (false for the sign-in routes).
 */
export async function api(method, path, options = {}) {
  const { body, headers = {}, idempotencyKey, auth = true, retried = false } = options;
  if (auth && accessToken === null && hasBrowserSession()) await refresh();
  const sent = { ...headers };
  if (auth && accessToken !== null) sent.Authorization = `Bearer ${accessToken}`;
  if (idempotencyKey) sent["Idempotency-Key"] = idempotencyKey;
  try {
    return await send(method, path, { body, headers: sent });
  } catch (error) {
    if (!(error instanceof ApiError) || retried || !auth) throw error;
    if (error.status === 401) {
      if (await refresh()) return api(method, path, { ...options, retried: true });
      signedOut();
      throw error;
    }
    if (error.status === 403 && error.code === "reauthentication_required" && reauthenticate) {
      if (await reauthenticate()) return api(method, path, { ...options, retried: true });
      // Cancelled: the problem's detail is written for API clients, not for people.
      error.message = "Not done: this action needs you to confirm it is you first.";
    }
    throw error;
  }
}

/**
 * POST /auth/reauthenticate (the sudo prompt). It rotates the refresh cookie too, so it
 * runs under the same lock as refreshes: racing one, the older cookie could land last
 * and the next refresh would look like token reuse and end the session.
 */
export async function renewSignIn(body) {
  const run = async () => {
    const headers = { ...COOKIE_DELIVERY };
    if (accessToken !== null) headers.Authorization = `Bearer ${accessToken}`;
    acceptTokens(await send("POST", "/auth/reauthenticate", { body, headers }));
  };
  return navigator.locks ? navigator.locks.request("kuploy-refresh", run) : run();
}

/** Every page of a list, following next_cursor (for small lists such as a preview). */
export async function allPages(path, limit = 200) {
  const items = [];
  let cursor = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await api("GET", `${path}${separator}${query}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** Sign out this browser: the session ends on the server and both cookies are cleared. */
export async function signOut() {
  try {
    await send("POST", "/auth/logout", { body: {}, headers: { ...COOKIE_DELIVERY, "X-CSRF-Token": readCookie(CSRF_COOKIE) } });
  } finally {
    signedOut();
  }
}
