// Organization Settings → Billing: the organization's plan; the owner chooses another
// (billing:manage). Admins may read the plan (billing:read) but are offered no change.

import { api } from "../lib/api.js";
import { h, replace, uid } from "../lib/dom.js";
import { form } from "../lib/forms.js";
import { can } from "../lib/permissions.js";

const PLANS = [
  ["free", "Free"],
  ["pro", "Pro"],
  ["team", "Team"],
];

function planLabel(plan) {
  return (PLANS.find(([id]) => id === plan) || [plan, plan])[1];
}

function planChoices(current) {
  return h(
    "fieldset",
    {},
    h("legend", {}, "Plan"),
    h(
      "div",
      { class: "checks" },
      PLANS.map(([value, label]) => {
        const id = uid(`plan-${value}`);
        return h("label", { class: "check", for: id }, h("input", { type: "radio", id, name: "plan", value, checked: value === current }), label);
      }),
    ),
  );
}

/** A status line (role=status announces it): class "success" or "notice", or cleared. */
function say(node, kind, text = "") {
  node.className = kind;
  node.textContent = text;
}

export async function billing(ctx) {
  const orgId = ctx.params.org;
  const path = `/orgs/${encodeURIComponent(orgId)}/billing`;
  ctx.main.append(h("h1", {}, "Billing"));
  if (!can(ctx.role, "billing:read")) {
    ctx.main.append(h("p", { class: "notice" }, "Only the owner manages this organization's billing."));
    return;
  }
  const answer = await api("GET", path);
  const current = h("strong", { class: "current-plan" }, planLabel(answer.plan));
  const status = h("p", { role: "status" });
  const card = h("section", { class: "card", "aria-labelledby": "plan-title" }, h("h2", { id: "plan-title" }, "Current plan"), h("p", {}, "This organization is on the ", current, " plan."), status);
  ctx.main.append(card);

  if (!can(ctx.role, "billing:manage")) {
    card.append(h("p", { class: "muted" }, "Only the organization's owner can change the plan."));
    return;
  }
  let plan = answer.plan;
  const change = form({
    submit: "Change plan",
    busy: "Changing plan…",
    fields: [planChoices(plan)],
    onSubmit: async (values) => {
      say(status, "");
      if (values.plan === plan) {
        say(status, "notice", `You are already on the ${planLabel(plan)} plan.`);
        return;
      }
      const saved = await api("PUT", path, { body: { plan: values.plan } });
      plan = saved.plan;
      replace(current, planLabel(plan));
      say(status, "success", `Plan changed to ${planLabel(plan)}.`);
    },
  });
  ctx.main.append(h("section", { class: "card", "aria-labelledby": "change-plan-title" }, h("h2", { id: "change-plan-title" }, "Change plan"), change));
}
