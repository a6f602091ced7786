// Organization Settings → Team (#/orgs/<id>/team): the members with their role,
// two-factor status and last activity; for those who manage the team, inviting,
// changing roles, removing, and the pending invitations (resend, revoke). Anyone who
// is not the owner can leave from their own row.

import { allPages, api } from "../lib/api.js";
import { announce, h, replace, uid } from "../lib/dom.js";
import { ago, day, roleLabel, when } from "../lib/format.js";
import { actionButton, field, form } from "../lib/forms.js";
import { pageQuery, pagedTable } from "../lib/pager.js";
import { TABLE, can } from "../lib/permissions.js";
import { me } from "../lib/session.js";
import { leaveButton, loadOrg, orgPath } from "./org_common.js";

const ROLE_HINT = "Admins manage the team, API keys and settings. Members read everything and deploy.";

function section(title, ...children) {
  const id = uid("section");
  return h("section", { class: "card team-list", "aria-labelledby": id }, h("h2", { id }, title), children);
}

function displayName(member) {
  return member.name || member.email;
}

function timeCell(iso, text) {
  return iso ? h("time", { datetime: iso, title: when(iso) }, text) : text;
}

/** How an invitation's email went: the API creates the invitation even when the email fails. */
function delivered(status, sent, again) {
  if (sent.email_delivery === "failed") {
    status.say(`The invitation to ${sent.email} was created, but its email could not be sent. Try Resend under Pending invitations in a moment.`, "warning");
  } else {
    status.say(again ? `Invitation sent again to ${sent.email}. The previous link no longer works.` : `Invitation sent to ${sent.email}.`);
  }
}

/** A status line above a list: what the last action did (announced). */
function statusLine() {
  const line = h("p", { role: "status", class: "team-status" });
  line.say = (text, kind = "success") => {
    line.className = `team-status ${kind}`;
    line.textContent = text;
  };
  line.clear = () => {
    line.className = "team-status";
    line.textContent = "";
  };
  return line;
}

function roleSelect(org, member) {
  let current = member.role;
  const select = h(
    "select",
    { class: "team-role", "aria-label": `Role of ${member.email}` },
    TABLE.assignable_roles.map((role) => h("option", { value: role, selected: role === current }, roleLabel(role))),
  );
  const saved = h("span", { class: "muted", role: "status" });
  const problem = h("span", { class: "field-error", role: "alert", hidden: true });
  select.addEventListener("change", async () => {
    const wanted = select.value;
    select.disabled = true;
    problem.hidden = true;
    saved.textContent = "Saving…";
    try {
      const updated = await api("PATCH", orgPath(org.id, `/members/${encodeURIComponent(member.user_id)}`), { body: { role: wanted } });
      current = updated.role;
      saved.textContent = "Saved";
      announce(`${displayName(member)} is now ${roleLabel(current)}.`);
    } catch (error) {
      saved.textContent = "";
      problem.textContent = error.message;
      problem.hidden = false;
      announce(error.message);
    } finally {
      select.value = current;
      select.disabled = false;
      select.focus();
    }
  });
  return h("div", { class: "team-role-cell" }, select, " ", saved, problem);
}

function membersSection(org, account, manage, status) {
  const memberRow = (member, reload) => {
    const isMe = member.user_id === account.id;
    let action = null;
    if (isMe && member.role !== "owner") {
      action = leaveButton(org, { label: "Leave", danger: false });
    } else if (manage && !isMe && member.role !== "owner") {
      action = actionButton(
        "Remove",
        async () => {
          await api("DELETE", orgPath(org.id, `/members/${encodeURIComponent(member.user_id)}`));
          status.say(`${displayName(member)} was removed from ${org.name}.`);
          await reload();
        },
        {
          busy: "Removing…",
          confirm: {
            title: `Remove ${displayName(member)}?`,
            text: `${member.email} loses access to ${org.name} at once. You can invite them again later.`,
            confirm: "Remove",
          },
        },
      );
    }
    return h(
      "tr",
      {},
      h(
        "td",
        { class: "team-who" },
        h("div", { class: "team-name" }, displayName(member), isMe ? [" ", h("span", { class: "badge neutral" }, "You")] : null),
        member.name ? h("div", { class: "muted team-email" }, member.email) : null,
      ),
      h("td", { "data-label": "Role" }, manage && !isMe && member.role !== "owner" ? roleSelect(org, member) : h("span", { class: "badge neutral" }, roleLabel(member.role))),
      h("td", { "data-label": "2FA" }, member.two_factor_enabled ? h("span", { class: "badge ok" }, "2FA on") : h("span", { class: "badge warn" }, "No 2FA")),
      h("td", { "data-label": "Joined" }, timeCell(member.joined_at, day(member.joined_at))),
      h("td", { "data-label": "Last active" }, timeCell(member.last_active_at, ago(member.last_active_at))),
      h("td", { class: "actions" }, action),
    );
  };
  const table = pagedTable({
    caption: "Members",
    columns: ["Member", "Role", "2FA", "Joined", "Last active", "Actions"],
    load: (cursor) => api("GET", orgPath(org.id, `/members${pageQuery(cursor)}`)),
    row: memberRow,
    empty: "No members.",
  });
  return section("Members", status, table.node);
}

function invitationsSection(org, account, status) {
  // Invitations name their inviter by user id; the team's names make it readable.
  let inviters = null;
  const inviterNames = () => {
    inviters =
      inviters ||
      allPages(orgPath(org.id, "/members"))
        .then((members) => new Map(members.map((m) => [m.user_id, displayName(m)])))
        .catch(() => new Map());
    return inviters;
  };
  let names = new Map();

  const invitationRow = (invitation, reload) => {
    const base = orgPath(org.id, `/invitations/${encodeURIComponent(invitation.id)}`);
    const expired = invitation.status === "expired";
    const inviter = invitation.invited_by === account.id ? "You" : names.get(invitation.invited_by) || "A former member";
    return h(
      "tr",
      {},
      h("td", { class: "team-who" }, invitation.email),
      h("td", { "data-label": "Role" }, roleLabel(invitation.role)),
      h("td", { "data-label": "Invited by" }, inviter),
      h("td", { "data-label": "Expires" }, expired ? h("span", { class: "badge danger" }, "Expired") : timeCell(invitation.expires_at, ago(invitation.expires_at))),
      h(
        "td",
        { class: "actions" },
        actionButton(
          "Resend",
          async () => {
            const sent = await api("POST", `${base}/resend`);
            delivered(status, sent, true);
            await reload();
          },
          { busy: "Sending…" },
        ),
        " ",
        actionButton(
          "Revoke",
          async () => {
            await api("DELETE", base);
            status.say(`The invitation to ${invitation.email} was revoked; its link no longer works.`);
            await reload();
          },
          {
            busy: "Revoking…",
            confirm: {
              title: `Revoke the invitation to ${invitation.email}?`,
              text: "The link in the email stops working. You can invite this address again later.",
              confirm: "Revoke",
            },
          },
        ),
      ),
    );
  };
  const table = pagedTable({
    caption: "Pending invitations",
    columns: ["Email", "Role", "Invited by", "Expires", "Actions"],
    load: async (cursor) => {
      const [page, known] = await Promise.all([api("GET", orgPath(org.id, `/invitations${pageQuery(cursor)}`)), inviterNames()]);
      names = known;
      return page;
    },
    row: invitationRow,
    empty: "No pending invitations.",
  });
  return { node: section("Pending invitations", status, table.node), reload: table.reload };
}

function inviteForm(org, invitations) {
  const panelId = uid("invite");
  const headingId = `${panelId}-title`;
  const email = field({ label: "Email address", name: "email", type: "email", required: true, autocomplete: "off", maxlength: 320 });
  const role = field({
    label: "Role",
    name: "role",
    value: "member",
    options: TABLE.assignable_roles.map((r) => [r, roleLabel(r)]),
    hint: ROLE_HINT,
  });
  const sentStatus = statusLine();
  const invite = form({
    submit: "Send invitation",
    busy: "Sending…",
    fields: [email, role],
    idempotent: true,
    fieldFor: { already_member: "email", already_invited: "email", validation_error: "email" },
    onSubmit: async (values, { idempotencyKey }) => {
      const sent = await api("POST", orgPath(org.id, "/invitations"), {
        body: { email: values.email.trim(), role: values.role },
        idempotencyKey,
      });
      delivered(sentStatus, sent, false);
      email.input.value = "";
      email.input.focus();
      await invitations.reload();
    },
  });
  const panel = h(
    "section",
    { class: "card", id: panelId, "aria-labelledby": headingId, hidden: true },
    h("h2", { id: headingId }, "Invite a member"),
    h("p", { class: "muted" }, `They get an email with a link to join ${org.name}, whether or not they have an account yet.`),
    sentStatus,
    invite,
  );
  const toggle = h("button", { type: "button", class: "primary", "aria-expanded": "false", "aria-controls": panelId }, "Invite member");
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) email.input.focus();
  });
  return { toolbar: h("div", { class: "toolbar" }, h("p", { class: "muted team-intro" }, `Who can open ${org.name}, and what they may do.`), h("span", { class: "spacer" }), toggle), panel };
}

export async function team(ctx) {
  ctx.main.append(h("h1", {}, "Team"));
  const org = await loadOrg(ctx);
  if (!org) return;
  const account = await me();
  const manage = can(ctx.role, "members:manage");
  const members = membersSection(org, account, manage, statusLine());
  if (!manage) {
    ctx.main.append(h("p", { class: "muted" }, `Who can open ${org.name}. Admins and the owner manage the team.`), members);
    return;
  }
  const invitations = invitationsSection(org, account, statusLine());
  const { toolbar, panel } = inviteForm(org, invitations);
  ctx.main.append(toolbar, panel, members, invitations.node);
}
