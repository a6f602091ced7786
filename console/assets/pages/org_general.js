// Organization Settings → General (#/orgs/<id>/general): the organization at a glance,
// its name, the two-factor policy (with whom it would lock out before it is switched
// on), transferring ownership, leaving, and deleting it.

import { ApiError, allPages, api } from "../lib/api.js";
import { announce, h, replace, uid } from "../lib/dom.js";
import { day, roleLabel } from "../lib/format.js";
import { actionButton, confirmDialog, field, form, withProgress } from "../lib/forms.js";
import { renderChrome } from "../lib/layout.js";
import { can } from "../lib/permissions.js";
import { forgetMe, me } from "../lib/session.js";
import { leaveButton, loadOrg, orgPath, redraw, twoFactorRequiredNotice } from "./org_common.js";

const PLANS = { free: "Free", pro: "Pro", team: "Team" };

function card(title, ...children) {
  const id = uid("section");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

function overview(org, role) {
  return card(
    "Overview",
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "Name"),
      h("dd", {}, org.name),
      h("dt", {}, "Plan"),
      h("dd", {}, PLANS[org.plan] || org.plan),
      h("dt", {}, "Created"),
      h("dd", {}, h("time", { datetime: org.created_at }, day(org.created_at))),
      h("dt", {}, "Members"),
      h("dd", {}, h("a", { href: `#${orgPath(org.id, "/team")}` }, org.member_count === 1 ? "1 member" : `${org.member_count} members`)),
      h("dt", {}, "Your role"),
      h("dd", {}, roleLabel(role)),
    ),
  );
}

function nameCard(ctx, org) {
  const done = h("p", { class: "success", role: "status", hidden: true });
  const name = field({ label: "Organization name", name: "name", value: org.name, required: true, maxlength: 100, autocomplete: "organization" });
  const rename = form({
    submit: "Save name",
    busy: "Saving…",
    fields: [name],
    fieldFor: { validation_error: "name" },
    onSubmit: async (values) => {
      done.hidden = true;
      const updated = await api("PATCH", orgPath(org.id), { body: { name: values.name.trim() } });
      org.name = updated.name;
      name.input.value = updated.name;
      done.textContent = `Renamed to ${updated.name}.`;
      done.hidden = false;
      // The switcher and the side navigation show the name too.
      forgetMe();
      await renderChrome({ area: "org", path: ctx.path, orgId: org.id, role: ctx.role });
    },
  });
  return card("Name", done, rename);
}

function lockedOutList(members, account) {
  return h(
    "ul",
    { class: "locked-out" },
    members.map((m) => h("li", {}, m.email, " ", h("span", { class: "muted" }, m.user_id === account.id ? `(${roleLabel(m.role)}, you)` : `(${roleLabel(m.role)})`))),
  );
}

/** The policy, and for those who may change it, the switch with its preview. */
function twoFactorCard(org, role, account) {
  let required = org.require_2fa;
  let busy = false;
  const state = h("p", {});
  const lockedNow = h("div", {});
  const describe = (lockedOut) => {
    replace(
      state,
      required
        ? `Required: members without two-factor authentication cannot open ${org.name} until they turn it on.`
        : `Not required: members can open ${org.name} without two-factor authentication.`,
    );
    const stillOut = required && lockedOut ? lockedOut : [];
    replace(
      lockedNow,
      stillOut.length
        ? h("div", { class: "warning" }, h("p", {}, "Locked out until they turn it on:"), lockedOutList(stillOut, account))
        : null,
    );
  };
  describe(org.members_without_2fa);
  if (!can(role, "org:update")) return card("Two-factor authentication", state, lockedNow);

  const switchId = uid("require-2fa");
  const errorId = `${switchId}-error`;
  const toggle = h("input", { type: "checkbox", role: "switch", class: "switch", id: switchId, checked: required, "aria-describedby": errorId });
  const progress = h("span", { class: "muted", role: "status" });
  const error = h("div", { class: "switch-error", id: errorId });
  const done = h("p", { class: "success", role: "status", hidden: true });
  const preview = h("section", { class: "preview", hidden: true });

  const showError = (failure) => {
    replace(error, failure instanceof ApiError && failure.code === "two_factor_required" ? twoFactorRequiredNotice(failure) : h("p", { class: "form-error", role: "alert" }, failure.message));
    toggle.setAttribute("aria-invalid", "true");
    toggle.focus();
    announce(failure.message);
  };
  const clearMessages = () => {
    replace(error);
    toggle.removeAttribute("aria-invalid");
    done.hidden = true;
  };

  const save = async (wanted) => {
    try {
      const updated = await api("PATCH", orgPath(org.id), { body: { require_2fa: wanted } });
      required = updated.require_2fa;
      toggle.checked = required;
      describe(updated.members_without_2fa);
      preview.hidden = true;
      done.textContent = required ? `Two-factor authentication is now required in ${org.name}.` : `Two-factor authentication is no longer required in ${org.name}.`;
      done.hidden = false;
      toggle.focus();
    } catch (failure) {
      preview.hidden = true;
      showError(failure);
    }
  };

  const showPreview = async () => {
    const headingId = uid("preview-title");
    const heading = h("h3", { id: headingId, tabindex: "-1" }, "Before you switch it on");
    preview.setAttribute("aria-labelledby", headingId);
    preview.hidden = false;
    replace(preview, heading, h("p", { role: "status" }, "Checking who would be locked out…"));
    let members;
    try {
      members = await allPages(orgPath(org.id, "/members"));
    } catch (failure) {
      preview.hidden = true;
      showError(failure);
      return;
    }
    const without = members.filter((m) => !m.two_factor_enabled);
    const confirm = h("button", { type: "button", class: "primary" }, "Require it");
    const cancel = h("button", { type: "button" }, "Cancel");
    confirm.addEventListener("click", async () => {
      if (busy) return;
      busy = true;
      try {
        await withProgress(confirm, "Switching on…", () => save(true));
      } finally {
        busy = false;
      }
    });
    cancel.addEventListener("click", () => {
      preview.hidden = true;
      toggle.focus();
    });
    replace(
      preview,
      heading,
      without.length
        ? [
            h(
              "p",
              {},
              without.length === 1
                ? `This member has no two-factor authentication and would be locked out of ${org.name} until they turn it on:`
                : `These ${without.length} members have no two-factor authentication and would be locked out of ${org.name} until they turn it on:`,
            ),
            lockedOutList(without, account),
          ]
        : h("p", {}, "Nobody would be locked out: every member already uses two-factor authentication."),
      h("p", { class: "muted" }, "API keys keep working. Members can always turn it on from their account's security settings."),
      h("div", { class: "buttons" }, confirm, cancel),
    );
    heading.focus();
  };

  const switchOff = async () => {
    const yes = await confirmDialog({
      title: "Stop requiring two-factor authentication?",
      text: `Members without two-factor authentication will be able to open ${org.name} again.`,
      confirm: "Stop requiring it",
    });
    if (!yes) return;
    busy = true;
    toggle.disabled = true;
    progress.textContent = "Saving…";
    try {
      await save(false);
    } finally {
      busy = false;
      toggle.disabled = false;
      progress.textContent = "";
      if (document.activeElement === document.body) toggle.focus();
    }
  };

  toggle.addEventListener("click", (event) => {
    // The switch moves only once the API has agreed (and after the preview for "on").
    event.preventDefault();
    if (busy) return;
    clearMessages();
    if (required) switchOff();
    else showPreview();
  });

  return card(
    "Two-factor authentication",
    state,
    lockedNow,
    h("div", { class: "switch-row" }, h("label", { class: "check", for: switchId }, toggle, "Require two-factor authentication"), progress),
    error,
    done,
    preview,
  );
}

async function transferCard(org, account) {
  const others = (await allPages(orgPath(org.id, "/members"))).filter((m) => m.user_id !== account.id);
  const intro = h("p", {}, "Make another member the owner. You stay on as an admin; only the new owner can transfer it again.");
  if (!others.length) return card("Transfer ownership", intro, h("p", { class: "muted" }, "Ownership can only go to a member: invite someone first."));
  const labelOf = (m) => (m.name ? `${m.name} (${m.email})` : m.email);
  const choice = field({
    label: "New owner",
    name: "user_id",
    required: true,
    options: [["", "Choose a member…"], ...others.map((m) => [m.user_id, labelOf(m)])],
  });
  const transfer = form({
    submit: "Transfer ownership",
    busy: "Transferring…",
    danger: true,
    fields: [choice],
    fieldFor: { not_found: "user_id", owner_protected: "user_id" },
    onSubmit: async (values) => {
      const chosen = others.find((m) => m.user_id === values.user_id);
      const who = chosen ? labelOf(chosen) : "this member";
      const yes = await confirmDialog({
        title: `Transfer ownership of ${org.name}?`,
        text: `${who} becomes the owner of ${org.name}, and you become an admin. Only the new owner can transfer it back.`,
        confirm: "Transfer ownership",
      });
      if (!yes) return;
      await api("POST", orgPath(org.id, "/transfer-ownership"), { body: { user_id: values.user_id } });
      announce(`${who} is now the owner.`);
      redraw();
    },
  });
  return card("Transfer ownership", intro, transfer);
}

function leaveCard(org) {
  return card(
    "Leave organization",
    h("p", {}, `You lose access to ${org.name} and everything in it. Someone who manages its team can invite you again.`),
    leaveButton(org),
  );
}

function dangerZone(org) {
  const id = uid("section");
  return h(
    "section",
    { class: "card danger-zone", "aria-labelledby": id },
    h("h2", { id }, "Danger zone"),
    h("h3", {}, "Delete organization"),
    h("p", {}, `Deleting ${org.name} removes its members, invitations, API keys, projects, applications and databases. It cannot be undone.`),
    actionButton(
      "Delete organization",
      async () => {
        await api("DELETE", orgPath(org.id));
        forgetMe();
        announce(`${org.name} was deleted.`);
        window.location.hash = "#/";
      },
      {
        busy: "Deleting…",
        danger: true,
        confirm: {
          title: `Delete ${org.name}?`,
          text: `This deletes ${org.name} for everyone in it, at once and for good.`,
          confirm: "Delete organization",
          typed: org.name,
        },
      },
    ),
  );
}

export async function general(ctx) {
  ctx.main.append(h("h1", {}, "General"));
  const org = await loadOrg(ctx);
  if (!org) return;
  const account = await me();
  const role = ctx.role;
  const sections = [
    overview(org, role),
    can(role, "org:update") ? nameCard(ctx, org) : null,
    twoFactorCard(org, role, account),
    can(role, "org:transfer_ownership") ? await transferCard(org, account) : null,
    role !== "owner" ? leaveCard(org) : null,
    can(role, "org:delete") ? dangerZone(org) : null,
  ];
  ctx.main.append(...sections.filter(Boolean));
}
