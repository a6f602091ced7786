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

/** Before leaving for a provider: where to land when the sign-in comes back. */
export function rememberNext(next) {
  if (next) window.sessionStorage.setItem(NEXT_KEY, safeNext(next));
  else window.sessionStorage.removeItem(NEXT_KEY);
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
