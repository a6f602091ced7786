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
