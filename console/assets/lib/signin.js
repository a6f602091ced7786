// The end of every way in (password, provider, 2FA step): keep the tokens, or hold the
// MFA token in memory for the second step, then go where the person was heading.

import { acceptTokens } from "./api.js";
import { forgetMe } from "./session.js";

/** The first step's answer while the 2FA step is on screen (memory only). */
export const pending = { mfa: null, next: null };

/** Only console routes (hash paths) are followed after sign-in, never another site. */
export function safeNext(next) {
  return typeof next === "string" && /^\/[A-Za-z0-9/_\-.%]*$/.test(next) && !next.startsWith("//") ? next : "/";
}

const NEXT_KEY = "kuploy-next";
const FLOW_KEY = "kuploy-provider-flow";
// A provider's state lives 10 minutes (domain/identities.py); so does this mark.
const FLOW_LIFETIME_MS = 10 * 60 * 1000;

/**
 * Before leaving for a provider from this tab. The console exchanges a `login_code`
 * only in a tab that started a provider sign-in: a link someone else sent
 * ("/?login_code=…" from their own flow) would otherwise sign this browser in to
 * *their* account (login CSRF). `next` may hold an invitation's token: it stays in
 * this tab's sessionStorage only until the landing takes it.
 */
export function rememberNext(next) {
  window.sessionStorage.setItem(FLOW_KEY, String(Date.now()));
  if (next) window.sessionStorage.setItem(NEXT_KEY, safeNext(next));
  else window.sessionStorage.removeItem(NEXT_KEY);
}

/** Whether this tab started a provider sign-in lately; the mark is spent either way. */
export function takeProviderFlow() {
  const started = Number(window.sessionStorage.getItem(FLOW_KEY));
  window.sessionStorage.removeItem(FLOW_KEY);
  return started > 0 && Date.now() - started < FLOW_LIFETIME_MS;
}

/** The remembered destination, once. */
export function takeRememberedNext() {
  const next = window.sessionStorage.getItem(NEXT_KEY);
  window.sessionStorage.removeItem(NEXT_KEY);
  return safeNext(next);
}

export function finishSignIn(answer, next) {
  if (answer.mfa_required) {
    pending.mfa = answer;
    pending.next = safeNext(next);
    window.location.hash = "#/sign-in/2fa";
    return;
  }
  pending.mfa = null;
  acceptTokens(answer);
  forgetMe();
  window.location.hash = `#${safeNext(next || pending.next)}`;
  pending.next = null;
}
