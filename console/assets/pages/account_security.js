// Account settings → Security: the password, two-factor authentication (set up from a
// QR code, recovery codes shown once, regenerate, turn off) and the sessions where the
// account is signed in.
//
// Every call here that needs a recent sign-in (2FA, the password) may open the sudo
// prompt: lib/api.js does it and repeats the call, so this page does nothing special.

import { allPages, api } from "../lib/api.js";
import { describeDevice } from "../lib/devices.js";
import { h, replace, uid } from "../lib/dom.js";
import { actionButton, confirmDialog, field, form } from "../lib/forms.js";
import { ago, when } from "../lib/format.js";
import { pageQuery, pagedTable } from "../lib/pager.js";
import { forgetMe, me } from "../lib/session.js";

const ENDS_OTHER_SESSIONS = "This signs out every other session of your account; this one stays signed in.";
const RECOVERY_FILE = "kuploy-recovery-codes.txt";

/** A section headed by an h2 or h3, labelled by it (a named region for assistive tech). */
function region(level, title, ...children) {
  const id = uid("section");
  return h("section", { "aria-labelledby": id }, h(level, { id, tabindex: "-1" }, title), children);
}

function card(title, ...children) {
  const section = region("h2", title, children);
  section.classList.add("card");
  return section;
}

function notice(kind, text) {
  return h("p", { class: kind, role: kind === "form-error" ? "alert" : "status" }, text);
}

/** Move focus to a view's first heading, so keyboard and screen-reader users follow it. */
function focusHeading(view) {
  const heading = view.querySelector("h3");
  if (heading) heading.focus();
}

// --- the password -------------------------------------------------------------------------

function passwordCard(account, onChanged) {
  if (!account.has_password) {
    return card(
      "Password",
      h("p", {}, "Your account signs in with a provider only, so it has no password to change."),
      h("p", {}, "To add one, use ", h("a", { href: "#/forgot-password" }, "Forgot password"), " with your address: the emailed link lets you choose a password."),
    );
  }
  const done = h("p", { class: "success", role: "status", hidden: true });
  const current = field({ label: "Current password", name: "current_password", type: "password", autocomplete: "current-password", required: true });
  const next = field({
    label: "New password",
    name: "new_password",
    type: "password",
    autocomplete: "new-password",
    required: true,
    hint: "At least 8 characters, and not a commonly used password.",
  });
  const passwordForm = form({
    submit: "Change password",
    busy: "Changing password…",
    fields: [current, next],
    fieldFor: { password_too_short: "new_password", password_too_common: "new_password", invalid_credentials: "current_password" },
    onSubmit: async (values) => {
      done.hidden = true;
      await api("POST", "/me/password", { body: { current_password: values.current_password, new_password: values.new_password } });
      passwordForm.reset();
      done.textContent = "Your password was changed. Every other session of your account was signed out.";
      done.hidden = false;
      onChanged();
    },
  });
  return card("Password", h("p", { class: "muted" }, "Changing your password signs out every other session of your account; this one stays signed in."), done, passwordForm);
}

// --- two-factor authentication ------------------------------------------------------------

/** A data: URL of an SVG document: base64 of its UTF-8 bytes (btoa takes bytes as chars). */
function svgDataUrl(svgText) {
  const bytes = new TextEncoder().encode(svgText);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/** "JBSW Y3DP EHPK 3PXP": easier to read and type than 32 letters in a row. */
function grouped(secret) {
  return secret.replace(/\s+/g, "").match(/.{1,4}/g).join(" ");
}

/** A button that copies text, saying so (or how to copy by hand) next to itself. */
function copyButton(label, text, what) {
  const result = h("span", { class: "muted", role: "status" });
  const button = h("button", { type: "button" }, label);
  button.addEventListener("click", async () => {
    result.classList.remove("error");
    try {
      await navigator.clipboard.writeText(text());
      result.textContent = `Copied ${what}.`;
    } catch {
      result.classList.add("error");
      result.textContent = `Copying did not work here: select ${what} and copy them yourself.`;
    }
  });
  return h("span", { class: "action" }, button, " ", result);
}

function codeField(hint) {
  return field({
    label: "Authentication code",
    name: "code",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: 32,
    required: true,
    hint,
  });
}

function twoFactorCard(initial, onSessionsChanged) {
  const body = h("div");
  const section = card("Two-factor authentication", body);
  let objectUrl = null;

  /** Show the view `build()` makes; the last view's download URL (if any) is let go. */
  function show(build, focus = true) {
    if (objectUrl) {
      URL.revokeObjectURL(objectUrl);
      objectUrl = null;
    }
    replace(body, build());
    if (focus) focusHeading(body);
  }

  function status(on) {
    return h("p", {}, "Status: ", on ? h("span", { class: "badge ok" }, "On") : h("span", { class: "badge neutral" }, "Off"));
  }

  function offView(message = null) {
    const start = actionButton(
      "Enable 2FA",
      async () => {
        const setup = await api("POST", "/me/2fa/setup");
        show(() => setupView(setup));
      },
      { primary: true, busy: "Starting…" },
    );
    return h(
      "div",
      {},
      message ? notice("success", message) : null,
      status(false),
      h("p", {}, "Add a second step to sign-in: after your password, a 6-digit code from an authenticator app on your phone (1Password, Google Authenticator, Authy, Microsoft Authenticator…)."),
      h("p", { class: "muted" }, "Turning it on signs out every other session of your account; this one stays signed in."),
      h("div", { class: "buttons" }, start),
    );
  }

  function setupView(setup) {
    const cancel = h("button", { type: "button" }, "Cancel");
    cancel.addEventListener("click", () => show(() => offView()));
    const enableForm = form({
      submit: "Turn on 2FA",
      busy: "Turning on…",
      fields: [codeField("The 6-digit code your app shows now for Kuploy.")],
      onSubmit: async (values) => {
        const answer = await api("POST", "/me/2fa/enable", { body: { code: values.code.replace(/\s+/g, "") } });
        forgetMe();
        onSessionsChanged();
        show(() => codesView(answer.recovery_codes, "Two-factor authentication is on. Every other session of your account was signed out."));
      },
    });
    enableForm.querySelector(".buttons").append(cancel);
    return h(
      "div",
      { class: "stack" },
      region(
        "h3",
        "1. Scan the QR code",
        h("p", {}, "In your authenticator app, add an account and scan this code."),
        h("img", { class: "qr", alt: "QR code for your authenticator app", src: svgDataUrl(setup.qr_svg) }),
      ),
      region(
        "h3",
        "Or enter the key by hand",
        h("p", {}, "If you cannot scan the code, enter this key in the app (time-based, 6 digits):"),
        h("p", { class: "secret-box" }, h("code", {}, grouped(setup.secret))),
        h("div", { class: "buttons" }, copyButton("Copy key", () => setup.secret, "the key")),
      ),
      region("h3", "2. Enter the code from the app", h("p", { class: "muted" }, ENDS_OTHER_SESSIONS), enableForm),
    );
  }

  function codesView(codes, message) {
    const text = () => codes.join("\n");
    const file = new Blob([`Kuploy recovery codes\nEach code works once, in place of an authentication code.\n\n${text()}\n`], { type: "text/plain" });
    // Revoked when the person leaves this view (show()).
    objectUrl = URL.createObjectURL(file);
    const done = h("button", { type: "button", class: "primary" }, "I have stored them");
    done.addEventListener("click", () => show(() => onView("Two-factor authentication is on, and your recovery codes are stored.")));
    return h(
      "div",
      {},
      notice("success", message),
      region(
        "h3",
        "Your recovery codes",
        h("p", { class: "warning" }, h("strong", {}, "Store these codes somewhere safe. Each works once, and they will not be shown again.")),
        h("p", {}, "If you lose your phone, sign in with one of them instead of an authentication code."),
        h("ul", { class: "codes", "aria-label": "Recovery codes" }, codes.map((code) => h("li", {}, h("code", {}, code)))),
        h("div", { class: "buttons" }, copyButton("Copy codes", text, "the codes"), h("a", { class: "button", href: objectUrl, download: RECOVERY_FILE }, "Download"), done),
      ),
    );
  }

  function onView(message = null) {
    const regenerate = form({
      submit: "Regenerate recovery codes",
      busy: "Making new codes…",
      fields: [codeField("The current code from your authenticator app (a recovery code does not work here).")],
      onSubmit: async (values) => {
        const sure = await confirmDialog({
          title: "Make new recovery codes?",
          text: `Your current recovery codes stop working at once. ${ENDS_OTHER_SESSIONS}`,
          confirm: "Make new codes",
          danger: false,
        });
        if (!sure) return;
        const answer = await api("POST", "/me/2fa/recovery-codes", { body: { code: values.code.replace(/\s+/g, "") } });
        onSessionsChanged();
        show(() => codesView(answer.recovery_codes, "New recovery codes are ready; the old ones no longer work. Every other session of your account was signed out."));
      },
    });
    const turnOff = form({
      submit: "Turn off 2FA",
      busy: "Turning off…",
      danger: true,
      fields: [
        field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
        codeField("A code from your authenticator app, or one of your recovery codes."),
      ],
      fieldFor: { invalid_credentials: "password", invalid_code: "code" },
      onSubmit: async (values) => {
        const sure = await confirmDialog({
          title: "Turn off two-factor authentication?",
          text: `Your account will be protected by your password alone, and organizations that require 2FA will refuse you. ${ENDS_OTHER_SESSIONS}`,
          confirm: "Turn off 2FA",
        });
        if (!sure) return;
        await api("POST", "/me/2fa/disable", { body: { password: values.password, code: values.code.trim() } });
        forgetMe();
        onSessionsChanged();
        show(() => offView("Two-factor authentication is off. Every other session of your account was signed out."));
      },
    });
    return h(
      "div",
      {},
      message ? notice("success", message) : null,
      status(true),
      h("p", {}, "After your password, Kuploy asks for a code from your authenticator app, or one of your recovery codes."),
      region(
        "h3",
        "Recovery codes",
        h("p", {}, "Used some of them, or think someone has seen them? Make new ones: the old ones stop working."),
        h("p", { class: "muted" }, ENDS_OTHER_SESSIONS),
        regenerate,
      ),
      region(
        "h3",
        "Turn off 2FA",
        h("p", {}, "Signing in will need only your password. Organizations that require two-factor authentication will refuse you."),
        h("p", { class: "muted" }, ENDS_OTHER_SESSIONS),
        turnOff,
      ),
    );
  }

  show(() => (initial.two_factor_enabled ? onView() : offView()), false);
  return section;
}

// --- sessions -----------------------------------------------------------------------------

function deviceCell(session) {
  const name = describeDevice(session.user_agent);
  const raw = session.user_agent || "The device sent no description.";
  return h(
    "td",
    {},
    h("details", {}, h("summary", {}, name, session.current ? [" ", h("span", { class: "badge ok" }, "This device")] : null), h("p", { class: "muted mono" }, raw)),
  );
}

function sessionsCard() {
  const result = h("p", { class: "success", role: "status", hidden: true });
  const table = pagedTable({
    caption: "Sessions",
    columns: ["Device", "IP address", "Signed in", "Last used", "Actions"],
    load: (cursor) => api("GET", `/me/sessions${pageQuery(cursor)}`),
    empty: "No sessions.",
    row: (session, reload) => {
      const device = describeDevice(session.user_agent);
      let action = h("span", { class: "muted" }, "Current session");
      if (!session.current) {
        action = actionButton(
          "Sign out",
          async () => {
            await api("DELETE", `/me/sessions/${encodeURIComponent(session.id)}`);
            say(`Signed out ${device} (${session.ip || "unknown address"}).`);
            await reload();
          },
          {
            busy: "Signing out…",
            confirm: {
              title: "Sign out this session?",
              text: `${device} at ${session.ip || "an unknown address"}, last used ${ago(session.last_used_at)}, will be signed out and must sign in again.`,
              confirm: "Sign out session",
            },
          },
        );
        action.querySelector("button").setAttribute("aria-label", `Sign out ${device} at ${session.ip || "an unknown address"}`);
      }
      return h(
        "tr",
        { dataset: { session: session.id } },
        deviceCell(session),
        h("td", {}, session.ip || "—"),
        h("td", {}, h("time", { datetime: session.created_at }, when(session.created_at))),
        h("td", {}, h("time", { datetime: session.last_used_at, title: when(session.last_used_at) }, ago(session.last_used_at))),
        h("td", { class: "actions" }, action),
      );
    },
  });

  function say(text) {
    result.textContent = text;
    result.hidden = false;
  }

  const everywhere = actionButton(
    "Sign out everywhere else",
    async () => {
      result.hidden = true;
      const others = (await allPages("/me/sessions")).filter((s) => !s.current);
      for (const session of others) {
        try {
          await api("DELETE", `/me/sessions/${encodeURIComponent(session.id)}`);
        } catch (error) {
          // Ended meanwhile (signed out, expired): that is what was asked.
          if (error.status !== 404) throw error;
        }
      }
      say(others.length === 1 ? "Signed out 1 other session." : others.length ? `Signed out ${others.length} other sessions.` : "There were no other sessions to sign out.");
      await table.reload();
    },
    {
      busy: "Signing out…",
      confirm: {
        title: "Sign out everywhere else?",
        text: "Every other browser and device signed in to your account will be signed out and must sign in again. This one stays signed in.",
        confirm: "Sign out everywhere else",
      },
    },
  );

  const section = card(
    "Sessions",
    h("p", {}, "Where your account is signed in. Sign out any session you do not recognise, then change your password."),
    result,
    table.node,
    h("div", { class: "buttons" }, everywhere),
  );
  section.reloadSessions = () => table.reload();
  return section;
}

export async function security(ctx) {
  const account = await me(true);
  const sessions = sessionsCard();
  const reloadSessions = () => {
    sessions.reloadSessions();
  };
  ctx.main.append(h("h1", {}, "Security"), passwordCard(account, reloadSessions), twoFactorCard(account, reloadSessions), sessions);
}
