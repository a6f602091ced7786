// Account settings → Sign-in history: the account's own trail (GET /me/audit-log),
// newest first: sign-ins and their failures, lockouts, password and 2FA changes,
// linked providers. In plain words, so a person can spot what was not them.

import { api } from "../lib/api.js";
import { describeDevice } from "../lib/devices.js";
import { h } from "../lib/dom.js";
import { ago, when } from "../lib/format.js";
import { pageQuery, pagedTable } from "../lib/pager.js";

const PROVIDERS = { github: "GitHub", google: "Google", gitlab: "GitLab" };

function provider(details) {
  return PROVIDERS[details.provider] || details.provider || "a provider";
}

// What happened, from the event's action and the details that change its meaning.
const ACTIONS = {
  "login.succeeded": (d) => (d.method === "provider" ? "Signed in with a provider" : d.factor === "second" ? "Signed in with a 2FA code" : "Signed in"),
  "login.failed": (d) => (d.factor === "second" ? "Sign-in refused: wrong 2FA code" : "Sign-in refused: wrong password"),
  "login.provider_verified": (d) => `Confirmed at ${provider(d)}`,
  "account.created": (d) => (d.provider ? `Account created with ${provider(d)}` : "Account created"),
  "account.claimed": (d) => `Address claimed with ${provider(d)}`,
  "account.locked": () => "Password sign-in locked after too many failures",
  "account.unlocked": () => "Password sign-in unlocked",
  "identity.linked": (d) => `${provider(d)} linked`,
  "identity.unlinked": (d) => `${provider(d)} unlinked`,
  "password.changed": () => "Password changed",
  "password.reset": () => "Password reset by email",
  "session.reauthenticated": () => "Identity confirmed for a sensitive action",
  "session.token_reused": () => "Session ended: a sign-in token was used twice",
  "two_factor.enabled": () => "Two-factor authentication turned on",
  "two_factor.disabled": () => "Two-factor authentication turned off",
  "two_factor.recovery_code_used": () => "Recovery code used",
  "two_factor.recovery_codes_replaced": () => "New recovery codes made",
  "two_factor.replay_refused": () => "Refused a 2FA code that was already used",
  "two_factor.reset_by_operator": () => "Two-factor authentication reset by an operator",
};

// Details already said by the action's words; the rest is shown as "name: value".
const FOLDED = new Set(["provider", "method", "factor"]);
const DETAIL_NAMES = { failures: "Failed attempts", session_id: "Session" };

function describeAction(event) {
  const details = event.details || {};
  const words = ACTIONS[event.action];
  return words ? words(details) : event.action;
}

function detailsText(event) {
  const entries = Object.entries(event.details || {}).filter(([name]) => !FOLDED.has(name));
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return entries.map(([name, value], i) => [i ? h("br") : null, `${DETAIL_NAMES[name] || name.replaceAll("_", " ")}: ${value}`]);
}

function deviceCell(event) {
  if (!event.user_agent) return h("td", { class: "muted" }, "—");
  return h("td", {}, h("details", {}, h("summary", {}, describeDevice(event.user_agent)), h("p", { class: "muted mono" }, event.user_agent)));
}

export async function activity(ctx) {
  const table = pagedTable({
    caption: "Sign-in history",
    columns: ["When", "What happened", "IP address", "Device", "Details"],
    load: (cursor) => api("GET", `/me/audit-log${pageQuery(cursor)}`),
    empty: "Nothing has happened on your account yet.",
    row: (event) =>
      h(
        "tr",
        { dataset: { action: event.action } },
        h("td", {}, h("time", { datetime: event.at, title: ago(event.at) }, when(event.at))),
        h("td", {}, describeAction(event)),
        h("td", {}, event.ip || "—"),
        deviceCell(event),
        h("td", {}, detailsText(event)),
      ),
  });
  ctx.main.append(
    h("h1", {}, "Sign-in history"),
    h(
      "section",
      { class: "card", "aria-labelledby": "activity-events" },
      h("h2", { id: "activity-events", class: "visually-hidden" }, "Events"),
      h("p", {}, "Sign-ins, failed attempts and changes to your password, two-factor authentication and sign-in providers, newest first."),
      h("p", { class: "muted" }, "Something you do not recognise? ", h("a", { href: "#/account/security" }, "Change your password and sign out your other sessions"), "."),
      table.node,
    ),
  );
}
