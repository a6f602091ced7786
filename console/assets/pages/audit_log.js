// Organization Settings → Audit log: who changed what, from where, when; newest first,
// narrowed by actor and action on the API (GET …/audit-log?actor=&action=), paged
// with its cursors. The filter is kept in the address, so a reload or a shared link
// shows the same events.

import { api } from "../lib/api.js";
import { announce, h, replace, uid } from "../lib/dom.js";
import { field } from "../lib/forms.js";
import { day, when } from "../lib/format.js";
import { pageQuery, pagedTable } from "../lib/pager.js";
import { can } from "../lib/permissions.js";

// Suggestions for the action filter: a group (everything before the dot) or one action.
const ACTIONS = [
  "api_key",
  "api_key.created",
  "api_key.rotated",
  "api_key.revoked",
  "member",
  "member.invited",
  "member.joined",
  "member.role_changed",
  "member.removed",
  "member.left",
  "invitation",
  "invitation.resent",
  "invitation.revoked",
  "invitation.declined",
  "org",
  "org.created",
  "org.updated",
  "org.ownership_transferred",
  "billing.plan_changed",
  "deployment.requested",
];

const timeOfDay = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

function actorCell(actor) {
  if (actor.type === "api_key") return h("span", {}, "API key ", h("span", { class: "mono" }, actor.id));
  if (actor.email) return actor.email;
  return h("span", { class: "mono" }, actor.id);
}

function detailsCell(details) {
  const entries = Object.entries(details || {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h(
    "ul",
    { class: "plain kv" },
    entries.map(([key, value]) => h("li", {}, h("span", { class: "kv-key" }, `${key}:`), " ", value)),
  );
}

function row(event) {
  return h(
    "tr",
    {},
    h("td", {}, h("time", { datetime: event.at, title: when(event.at) }, day(event.at), h("br"), timeOfDay.format(new Date(event.at)))),
    h("td", {}, actorCell(event.actor)),
    h("td", { class: "mono" }, event.action),
    h("td", { class: "mono" }, event.target || "—"),
    h("td", { class: "mono" }, event.ip || "—"),
    h("td", {}, detailsCell(event.details)),
  );
}

export async function auditLog(ctx) {
  const orgId = ctx.params.org;
  ctx.main.append(h("h1", {}, "Audit log"));
  if (!can(ctx.role, "audit:read")) {
    ctx.main.append(h("p", { class: "notice" }, "Only owners and admins can read this organization's audit log."));
    return;
  }
  ctx.main.append(h("p", { class: "muted" }, "Every change in this organization: who made it, from which address, and when. Newest first."));

  const filters = { actor: ctx.query.get("actor") || "", action: ctx.query.get("action") || "" };
  const actor = field({ label: "Actor", name: "actor", type: "search", value: filters.actor, maxlength: 254, autocomplete: "off", hint: "An email, a user id or an API key id." });
  const listId = uid("actions");
  const action = field({ label: "Action", name: "action", type: "search", value: filters.action, maxlength: 64, autocomplete: "off", list: listId, hint: "An action, or a group such as api_key." });
  const apply = h("button", { type: "submit", class: "primary" }, "Filter");
  const clear = h("button", { type: "button" }, "Clear filters");
  const filterForm = h(
    "form",
    { class: "inline-form filters", role: "search", "aria-label": "Filter the audit log" },
    actor,
    action,
    h("datalist", { id: listId }, ACTIONS.map((a) => h("option", { value: a }))),
    h("div", { class: "buttons" }, apply, clear),
  );
  const tableSlot = h("div", { class: "audit-log" });

  function show() {
    const extra = {};
    if (filters.actor) extra.actor = filters.actor;
    if (filters.action) extra.action = filters.action;
    const table = pagedTable({
      caption: "Audit log events",
      columns: ["When", "Actor", "Action", "Target", "IP", "Details"],
      load: (cursor) => api("GET", `/orgs/${encodeURIComponent(orgId)}/audit-log${pageQuery(cursor, 25, extra)}`),
      row,
      empty: Object.keys(extra).length ? "No events match these filters." : "No events yet.",
    });
    replace(tableSlot, table.node);
    // Keep the filter in the address without re-rendering the page.
    const query = new URLSearchParams(extra).toString();
    const hash = `#/orgs/${encodeURIComponent(orgId)}/audit-log${query ? `?${query}` : ""}`;
    if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
  }

  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    filters.actor = actor.input.value.trim();
    filters.action = action.input.value.trim();
    show();
    announce(filters.actor || filters.action ? "Showing the events that match the filters." : "Showing every event.");
  });
  clear.addEventListener("click", () => {
    actor.input.value = "";
    action.input.value = "";
    filters.actor = "";
    filters.action = "";
    show();
    announce("Showing every event.");
    actor.input.focus();
  });

  ctx.main.append(h("div", { class: "card" }, filterForm), tableSlot);
  show();
}
