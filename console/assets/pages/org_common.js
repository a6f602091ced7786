// What the organization pages share: loading the organization (and saying plainly
// when its two-factor policy keeps the person out), leaving it, and drawing the
// page again after a change of name or role.

import { ApiError, api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { actionButton } from "../lib/forms.js";
import { redraw as redrawPage } from "../lib/router.js";
import { forgetMe, me } from "../lib/session.js";

export function orgPath(orgId, rest = "") {
  return `/orgs/${encodeURIComponent(orgId)}${rest}`;
}

/** The message of a 403 two_factor_required, with the way to fix it. */
export function twoFactorRequiredNotice(error) {
  const message = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
  return h(
    "p",
    { class: "form-error", role: "alert" },
    message,
    " ",
    h("a", { href: "#/account/security" }, "Set up two-factor authentication"),
  );
}

/**
 * GET /orgs/<id>. When the organization requires 2FA and this account has none, the
 * page says so (with the link to turn it on) instead of failing, and this answers null.
 */
export async function loadOrg(ctx) {
  try {
    return await api("GET", orgPath(ctx.params.org));
  } catch (error) {
    if (error instanceof ApiError && error.code === "two_factor_required") {
      // Leaving stays open to a locked-out member (the API allows it); the name comes from GET /me.
      const membership = (await me()).organizations.find((o) => o.id === ctx.params.org);
      ctx.main.append(
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Two-factor authentication required"),
          twoFactorRequiredNotice(error),
          h("p", {}, "Once it is on for your account, this organization opens again."),
          membership && ctx.role !== "owner" ? h("div", { class: "buttons" }, leaveButton({ id: ctx.params.org, name: membership.name })) : null,
        ),
      );
      return null;
    }
    throw error;
  }
}

/**
 * Draw the current page again, chrome included (side navigation and switcher read
 * GET /me): after a rename, a transfer of ownership, anything that changes a role.
 */
export function redraw() {
  forgetMe();
  return redrawPage();
}

/** "Leave organization" for a member who is not the owner: DELETE their own membership. */
export function leaveButton(org, { label = "Leave organization", danger = true } = {}) {
  return actionButton(
    label,
    async () => {
      const account = await me();
      await api("DELETE", orgPath(org.id, `/members/${encodeURIComponent(account.id)}`));
      forgetMe();
      window.location.hash = "#/";
    },
    {
      busy: "Leaving…",
      danger,
      confirm: {
        title: `Leave ${org.name}?`,
        text: `You lose access to ${org.name} at once. To come back, someone who manages its team must invite you again.`,
        confirm: "Leave organization",
      },
    },
  );
}
