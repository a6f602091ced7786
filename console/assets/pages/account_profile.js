// Account settings → Profile: the display name, the sign-in address, and the providers
// (GitHub, Google, GitLab) this account can sign in with: link and unlink them.
//
// Linking leaves the console for the provider and comes back to "/?linked=<provider>"
// or "/?error=<code>" (app.js turns both into this page's query), so the outcome of a
// link is read from ctx.query and then cleared from the address bar.

import { api } from "../lib/api.js";
import { announce, h, replace } from "../lib/dom.js";
import { actionButton, field, form } from "../lib/forms.js";
import { day } from "../lib/format.js";
import { forgetMe, me } from "../lib/session.js";

const KNOWN_NAMES = { github: "GitHub", google: "Google", gitlab: "GitLab" };

// The callback's `error=` codes (domain/identities.py FlowError), in plain words.
const FLOW_ERRORS = {
  access_denied: "You cancelled at the provider, so nothing was linked.",
  provider_error: "The provider did not answer as expected, so nothing was linked. Try again in a moment.",
  invalid_state: "That link attempt had expired or was already used, so nothing was linked. Start again from this page.",
  browser_mismatch: "The provider sent you back to a different browser from the one that started, so nothing was linked. Start again in this browser.",
  email_not_verified: "The provider has not verified your email address there, so it cannot be used to sign in. Verify it with the provider, then try again.",
  email_too_similar: "The provider's email address looks too much like the address of another Kuploy account, so nothing was linked.",
  identity_in_use: "That provider account is already linked to another Kuploy account. Unlink it there first, or sign in with it to use that account.",
  provider_already_linked: "Your account already has an account of this provider linked. Unlink it first to link a different one.",
  account_gone: "Your account was deleted while linking, so nothing was linked.",
  session_ended: "You signed out while linking, so nothing was linked. Sign in and try again.",
};

function flowErrorMessage(code) {
  return FLOW_ERRORS[code] || `Linking did not finish (${code}). Try again.`;
}

function providerName(id, providers) {
  const configured = providers.find((p) => p.id === id);
  return configured ? configured.name : KNOWN_NAMES[id] || id;
}

function outcomeNotice(query, providers) {
  const linked = query.get("linked");
  const error = query.get("error");
  if (!linked && !error) return null;
  // Shown once: a reload or a bookmark of this page should not repeat it.
  window.history.replaceState(null, "", "#/account/profile");
  if (error) return h("p", { class: "form-error", role: "alert" }, flowErrorMessage(error));
  const name = providerName(linked, providers);
  return h("p", { class: "success", role: "status" }, `${name} is linked: you can now sign in with ${name}.`);
}

function detailsCard(account) {
  const saved = h("p", { class: "success", role: "status", hidden: true });
  const name = field({ label: "Name", name: "name", value: account.name, autocomplete: "name", maxlength: 200, hint: "Shown to the other members of your organizations." });
  const nameForm = form({
    submit: "Save name",
    busy: "Saving…",
    fields: [name],
    onSubmit: async (values) => {
      saved.hidden = true;
      const updated = await api("PATCH", "/me", { body: { name: values.name.trim() } });
      forgetMe();
      name.input.value = updated.name;
      saved.textContent = updated.name ? `Saved. Your name is now ${updated.name}.` : "Saved. Your name is now empty.";
      saved.hidden = false;
    },
  });
  const verified = account.email_verified ? h("span", { class: "badge ok" }, "Verified") : h("span", { class: "badge warn" }, "Not verified");
  return h(
    "section",
    { class: "card", "aria-labelledby": "profile-details" },
    h("h2", { id: "profile-details" }, "Your details"),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "Email"),
      h("dd", {}, h("span", {}, account.email), " ", verified, h("p", { class: "hint" }, "The address you sign in with, and where security notices go. It cannot be changed here.")),
      h("dt", {}, "Member since"),
      h("dd", {}, day(account.created_at)),
    ),
    saved,
    nameForm,
  );
}

function providerRow(id, account, providers, rerender) {
  const name = providerName(id, providers);
  const identity = account.identities.find((i) => i.provider === id);
  const configured = providers.some((p) => p.id === id);
  let status;
  let action;
  if (identity) {
    status = [
      h("span", { class: "badge ok" }, "Linked"),
      " ",
      identity.email ? `as ${identity.email}` : "",
      h("br"),
      h("span", { class: "muted" }, `Linked since ${day(identity.linked_at)}`),
    ];
    action = actionButton(
      "Unlink",
      async () => {
        await api("DELETE", `/me/identities/${encodeURIComponent(id)}`);
        forgetMe();
        await rerender(`${name} was unlinked: it can no longer sign in to this account.`);
      },
      {
        busy: "Unlinking…",
        danger: true,
        confirm: { title: `Unlink ${name}?`, text: `You will no longer be able to sign in to this account with ${name}. You can link it again later.`, confirm: `Unlink ${name}` },
      },
    );
    action.querySelector("button").setAttribute("aria-label", `Unlink ${name}`);
  } else {
    status = h("span", { class: "badge neutral" }, "Not linked");
    action = configured
      ? actionButton(
          "Link",
          async () => {
            const started = await api("POST", `/me/identities/${encodeURIComponent(id)}/link`, { body: { redirect_to: `${window.location.origin}/` } });
            announce(`Opening ${name}…`);
            window.location.assign(started.authorize_url);
          },
          { busy: `Opening ${name}…` },
        )
      : null;
    if (action) action.querySelector("button").setAttribute("aria-label", `Link ${name}`);
  }
  return h("tr", { dataset: { provider: id } }, h("th", { scope: "row", class: "row-name" }, name), h("td", {}, status), h("td", { class: "actions" }, action));
}

function providersCard(account, providers, notice, rerender) {
  const ids = [...new Set([...providers.map((p) => p.id), ...account.identities.map((i) => i.provider)])];
  const intro = account.has_password
    ? "Sign in with your password, or with any provider linked here."
    : "Your account has no password: it signs in only with the providers linked here. Keep at least one linked, or set a password with “Forgot password” first.";
  const body = ids.length
    ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data" },
          h("caption", { class: "visually-hidden" }, "Sign-in providers"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Provider"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", {}, ids.map((id) => providerRow(id, account, providers, rerender))),
        ),
      )
    : h("p", { class: "empty" }, "No sign-in providers are set up on this Kuploy installation.");
  return h("section", { class: "card", "aria-labelledby": "profile-providers" }, h("h2", { id: "profile-providers" }, "Sign-in providers"), notice, h("p", {}, intro), body);
}

export async function profile(ctx) {
  const [account, listed] = await Promise.all([me(true), api("GET", "/auth/providers", { auth: false })]);
  const providers = listed.providers || [];
  const heading = h("h1", {}, "Profile");
  const providersSlot = h("div");

  async function rerender(message) {
    const fresh = await me(true);
    const notice = message ? h("p", { class: "success", role: "status" }, message) : null;
    replace(providersSlot, providersCard(fresh, providers, notice, rerender));
  }

  replace(providersSlot, providersCard(account, providers, outcomeNotice(ctx.query, providers), rerender));
  ctx.main.append(heading, detailsCard(account), providersSlot);
}
