// The ways in: sign in (password, a provider, then the 2FA step when the account has
// it), sign up, forgot password and a new confirmation email. Each is a narrow card; a
// problem document's message lands next to the field or action it concerns.

import { COOKIE_DELIVERY, api } from "../lib/api.js";
import { announce, h, replace } from "../lib/dom.js";
import { actionButton, field, form } from "../lib/forms.js";
import { finishSignIn, pending, rememberNext } from "../lib/signin.js";

// Why a provider sign-in (or the step after it) came back here: the `error=` a provider
// flow's callback sends (domain/identities.py FlowError), the code a refused login-code
// exchange answered (app.js), or the console's own `mfa_expired`. Only these are shown:
// any other value of the query is a link someone crafted, and gets the generic line.
const SIGN_IN_ERRORS = {
  access_denied: "You cancelled the sign-in at the provider. Nothing was changed.",
  provider_error: "The provider could not sign you in just now. Try again, or sign in with your email and password.",
  invalid_state: "That sign-in attempt expired or was already used. Start again.",
  browser_mismatch: "That sign-in was started in another browser or window. Start again here.",
  email_not_verified: "The provider has not verified your email address. Verify it there, then try again.",
  email_too_similar: "Another Kuploy account uses an address that looks almost the same as yours. Sign in to that account instead.",
  identity_in_use: "That provider account is already linked to another Kuploy account. Sign in to that account instead.",
  provider_already_linked: "Your account already has another account of that provider linked.",
  account_gone: "That Kuploy account no longer exists.",
  session_ended: "Your session ended before the provider answered. Sign in again.",
  invalid_token: "That sign-in took too long or was already completed. Start again.",
  token_expired: "That sign-in took too long or was already completed. Start again.",
  rate_limited: "Too many sign-in attempts from this address. Wait a few minutes, then try again.",
  network_error: "Kuploy could not be reached. Check your connection and try again.",
  mfa_expired: "The sign-in step expired or was already used. Sign in again.",
};
const GENERIC_SIGN_IN_ERROR = "Signing in did not work. Try again.";

/** "Continue with GitHub" and friends, for the providers this platform has configured. */
async function providerButtons(next) {
  let answer;
  try {
    answer = await api("GET", "/auth/providers", { auth: false });
  } catch {
    // Without the list the password form still works; the buttons just do not show.
    return null;
  }
  if (!answer.providers.length) return null;
  // The callback returns to the console's root (on the API's allow-list), where app.js
  // exchanges the login code and clears it from the address bar.
  const back = encodeURIComponent(`${window.location.origin}/`);
  return [
    h(
      "div",
      { class: "providers" },
      answer.providers.map((provider) =>
        h(
          "a",
          {
            class: "button",
            href: `/auth/oauth/${encodeURIComponent(provider.id)}/start?redirect_to=${back}`,
            // The provider's round trip leaves the page: where to go afterwards waits in
            // this tab's sessionStorage (a console path, not a secret).
            onclick: () => rememberNext(next),
          },
          `Continue with ${provider.name}`,
        ),
      ),
    ),
    h("p", { class: "divider" }, "or"),
  ];
}

function card(...children) {
  return h("section", { class: "card" }, children);
}

/** The narrow column the sign-in pages sit in. */
function column(section) {
  return h("div", { class: "narrow" }, section);
}

/** Swap a card's content for a new state, with focus on its new heading. */
function showState(section, heading, ...children) {
  const title = h("h1", { tabindex: "-1" }, heading);
  replace(section, title, children);
  document.title = `${heading} · Kuploy`;
  title.focus();
}

// --- sign in ----------------------------------------------------------------------------

export async function signIn(ctx) {
  const next = ctx.query.get("next");
  const error = ctx.query.get("error");
  const resendSlot = h("div");

  const email = field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true, value: ctx.query.get("email") || "" });
  const password = field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const signInForm = form({
    submit: "Sign in",
    busy: "Signing in…",
    fields: [email, password],
    extra: [resendSlot],
    async onSubmit(values) {
      replace(resendSlot);
      try {
        const answer = await api("POST", "/auth/login", {
          body: { email: values.email.trim(), password: values.password },
          headers: COOKIE_DELIVERY,
          auth: false,
        });
        finishSignIn(answer, next);
      } catch (failure) {
        if (failure.code === "email_not_verified") replace(resendSlot, resendOffer(values.email.trim()));
        throw failure;
      }
    },
  });

  const providers = await providerButtons(next);
  if (error) {
    // Said once: a reload or a bookmark of this address must not repeat it.
    window.history.replaceState(null, "", next ? `#/sign-in?next=${encodeURIComponent(next)}` : "#/sign-in");
  }
  ctx.main.append(
    column(
      card(
        h("h1", {}, "Sign in to Kuploy"),
        error ? h("p", { class: "form-error", role: "alert" }, SIGN_IN_ERRORS[error] || GENERIC_SIGN_IN_ERROR) : null,
        providers,
        signInForm,
        h("p", { class: "auth-links" }, h("a", { href: "#/forgot-password" }, "Forgot your password?"), h("a", { href: "#/sign-up" }, "Create an account")),
      ),
    ),
  );
}

/** After `email_not_verified`: send the confirmation email again, right there. */
function resendOffer(address) {
  const done = h("p", { class: "success", role: "status", hidden: true });
  const button = actionButton(
    "Resend the confirmation email",
    async () => {
      await api("POST", "/auth/resend-verification", { body: { email: address }, auth: false });
      done.textContent = `If ${address} is waiting for confirmation, a new link is on its way. Open it, then sign in.`;
      done.hidden = false;
      button.hidden = true;
    },
    { busy: "Sending…" },
  );
  return h("div", { class: "notice" }, h("p", {}, "Open the link in the email we sent when you signed up. Lost it?"), button, done);
}

// --- the second step ----------------------------------------------------------------------

export async function twoFactorStep(ctx) {
  const challenge = pending.mfa;
  if (!challenge) {
    ctx.navigate("/sign-in");
    return;
  }
  const section = card();
  ctx.main.append(column(section));
  let useRecovery = false;

  function draw() {
    const input = useRecovery
      ? field({ label: "Recovery code", name: "recovery_code", autocomplete: "off", spellcheck: "false", required: true, hint: "One of the ten codes you saved when you turned on two-factor authentication. Each works once." })
      : field({ label: "Authentication code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8", required: true, hint: "The 6-digit code your authenticator app shows for Kuploy." });
    const stepForm = form({
      submit: "Verify",
      busy: "Verifying…",
      fields: [input],
      fieldFor: { invalid_code: useRecovery ? "recovery_code" : "code" },
      async onSubmit(values) {
        const body = useRecovery
          ? { mfa_token: challenge.mfa_token, recovery_code: values.recovery_code.trim() }
          : { mfa_token: challenge.mfa_token, code: values.code.replace(/\s+/g, "") };
        try {
          finishSignIn(await api("POST", "/auth/login/2fa", { body, headers: COOKIE_DELIVERY, auth: false }), pending.next);
        } catch (failure) {
          // The challenge is over (expired, used, or too many wrong codes): start again.
          if (failure.status === 401 && failure.code === "invalid_token") {
            pending.mfa = null;
            ctx.navigate("/sign-in?error=mfa_expired");
            return;
          }
          throw failure;
        }
      },
    });
    const toggle = h("button", { type: "button", class: "linklike" }, useRecovery ? "Use your authenticator app" : "Use a recovery code");
    toggle.addEventListener("click", () => {
      useRecovery = !useRecovery;
      draw();
      section.querySelector("input").focus();
      announce(useRecovery ? "Enter a recovery code." : "Enter the code from your authenticator app.");
    });
    replace(
      section,
      h("h1", {}, "Two-factor authentication"),
      h("p", {}, useRecovery ? "Lost your authenticator? Enter a recovery code instead." : "Your account has two-factor authentication. Enter the code from your authenticator app."),
      stepForm,
      h("p", { class: "auth-links" }, toggle, h("a", { href: "#/sign-in" }, "Start again")),
    );
  }
  draw();
}

// --- sign up ------------------------------------------------------------------------------

export async function signUp(ctx) {
  const section = card();
  const signUpForm = form({
    submit: "Create account",
    busy: "Creating your account…",
    fields: [
      field({ label: "Name", name: "name", autocomplete: "name", hint: "Optional: how your team sees you." }),
      field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
      field({ label: "Password", name: "password", type: "password", autocomplete: "new-password", required: true, hint: "At least 8 characters, and not a common password." }),
    ],
    async onSubmit(values) {
      const address = values.email.trim();
      const body = { email: address, password: values.password };
      if (values.name.trim()) body.name = values.name.trim();
      await api("POST", "/auth/signup", { body, auth: false });
      showState(
        section,
        "Check your inbox",
        h("p", { class: "success", role: "status" }, `We sent a confirmation link to ${address}.`),
        h("p", {}, "Open it to confirm your address, then sign in. The link works for 24 hours."),
        h(
          "p",
          { class: "auth-links" },
          h("a", { href: "#/sign-in" }, "Sign in"),
          h("a", { href: `#/verify-email?email=${encodeURIComponent(address)}` }, "No email? Send it again"),
        ),
      );
    },
  });
  replace(
    section,
    h("h1", {}, "Create your Kuploy account"),
    signUpForm,
    h("p", { class: "auth-links" }, h("span", {}, "Already have an account? ", h("a", { href: "#/sign-in" }, "Sign in"))),
  );
  ctx.main.append(column(section));
}

// --- forgot password ------------------------------------------------------------------------

export async function forgotPassword(ctx) {
  const section = card();
  const forgotForm = form({
    submit: "Send reset link",
    busy: "Sending…",
    fields: [field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true })],
    async onSubmit(values) {
      const address = values.email.trim();
      await api("POST", "/auth/password/forgot", { body: { email: address }, auth: false });
      showState(
        section,
        "Check your inbox",
        h("p", { class: "success", role: "status" }, `If an account exists for ${address}, we sent a link to reset its password.`),
        h("p", {}, "The link works once. After you choose a new password, every session of the account is signed out."),
        h("p", { class: "auth-links" }, h("a", { href: "#/sign-in" }, "Back to sign in")),
      );
    },
  });
  replace(
    section,
    h("h1", {}, "Reset your password"),
    h("p", {}, "Enter the address you sign in with; we will email you a link to choose a new password."),
    forgotForm,
    h("p", { class: "auth-links" }, h("a", { href: "#/sign-in" }, "Back to sign in")),
  );
  ctx.main.append(column(section));
}

// --- a new confirmation email ------------------------------------------------------------------

export async function resendVerification(ctx) {
  const section = card();
  const sent = h("div", { role: "status" });
  const resendForm = form({
    submit: "Send confirmation email",
    busy: "Sending…",
    fields: [field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true, value: ctx.query.get("email") || "" })],
    async onSubmit(values) {
      const address = values.email.trim();
      await api("POST", "/auth/resend-verification", { body: { email: address }, auth: false });
      replace(sent, h("p", { class: "success" }, `If ${address} is waiting for confirmation, a new link is on its way.`));
    },
  });
  replace(
    section,
    h("h1", {}, "Confirm your email address"),
    h("p", {}, "The link we email you confirms your address; it works for 24 hours. Need a new one?"),
    sent,
    resendForm,
    h("p", { class: "auth-links" }, h("a", { href: "#/sign-in" }, "Back to sign in")),
  );
  ctx.main.append(column(section));
}
