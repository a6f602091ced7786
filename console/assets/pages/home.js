// Home: the organizations the person belongs to (each leading to its settings) and the
// invitations waiting for their verified address, answered right here.

import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { roleLabel, when, ago } from "../lib/format.js";
import { actionButton } from "../lib/forms.js";
import { pageQuery, pagedTable } from "../lib/pager.js";
import { forgetMe, me } from "../lib/session.js";

const ROLE_BADGES = { owner: "ok", admin: "warn", member: "neutral" };

function roleBadge(role) {
  return h("span", { class: `badge ${ROLE_BADGES[role] || "neutral"}` }, roleLabel(role));
}

function organizations(account) {
  const create = h("a", { class: "button primary", href: "#/orgs/new" }, "Create organization");
  if (!account.organizations.length) {
    return [
      h("div", { class: "empty-state" }, h("p", {}, "You are not in any organization yet. Create one for your team, or accept an invitation below."), create),
    ];
  }
  const sorted = [...account.organizations].sort((a, b) => a.name.localeCompare(b.name));
  return [
    h("ul", { class: "org-list" },
      sorted.map((org) =>
        h(
          "li",
          {},
          h("a", { href: `#/orgs/${encodeURIComponent(org.id)}/general` }, org.name),
          h("span", { class: "visually-hidden" }, ", your role: "),
          roleBadge(org.role),
        ),
      ),
    ),
    h("div", { class: "buttons" }, create),
  ];
}

function invitationRow(invitation, reload, navigate) {
  const accept = actionButton(
    "Accept",
    async () => {
      const joined = await api("POST", `/me/invitations/${encodeURIComponent(invitation.id)}/accept`);
      forgetMe();
      navigate(`/orgs/${encodeURIComponent(joined.org_id)}/general`);
    },
    { busy: "Joining…", primary: true },
  );
  const decline = actionButton(
    "Decline",
    async () => {
      await api("POST", `/me/invitations/${encodeURIComponent(invitation.id)}/decline`);
      await reload();
    },
    {
      busy: "Declining…",
      confirm: { title: `Decline the invitation to ${invitation.org_name}?`, text: "To join later, someone there has to invite you again.", confirm: "Decline", danger: true },
    },
  );
  // Several rows each have an Accept button: say which organization each one is for.
  accept.querySelector("button").setAttribute("aria-label", `Accept the invitation to ${invitation.org_name}`);
  decline.querySelector("button").setAttribute("aria-label", `Decline the invitation to ${invitation.org_name}`);
  return h(
    "tr",
    {},
    h("td", { "data-label": "Organization" }, invitation.org_name),
    h("td", { "data-label": "Role" }, roleBadge(invitation.role)),
    h("td", { "data-label": "Invited by" }, invitation.invited_by),
    h("td", { "data-label": "Expires" }, h("time", { datetime: invitation.expires_at, title: when(invitation.expires_at) }, ago(invitation.expires_at))),
    h("td", { class: "actions" }, h("div", { class: "buttons" }, accept, decline)),
  );
}

export async function home(ctx) {
  const account = await me();
  const invitations = pagedTable({
    caption: "Pending invitations",
    columns: ["Organization", "Role", "Invited by", "Expires", "Answer"],
    load: (cursor) => api("GET", `/me/invitations${pageQuery(cursor, 25)}`),
    row: (invitation, reload) => invitationRow(invitation, reload, ctx.navigate),
    empty: "No invitations are waiting for you.",
  });
  // On a phone each invitation becomes a small card of its own (console.css).
  invitations.node.classList.add("rows-on-phone");
  ctx.main.append(
    h("section", { class: "card" }, h("h1", {}, "Your organizations"), organizations(account)),
    h(
      "section",
      { class: "card", "aria-labelledby": "pending-invitations" },
      h("h2", { id: "pending-invitations" }, "Pending invitations"),
      h("p", { class: "muted" }, `Invitations sent to ${account.email}.`),
      invitations.node,
    ),
  );
}
