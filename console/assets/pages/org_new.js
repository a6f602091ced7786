// Create an organization (#/orgs/new): its name, then its settings. The creator is its owner.

import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { field, form } from "../lib/forms.js";
import { forgetMe } from "../lib/session.js";
import { orgPath } from "./org_common.js";

// domain/organizations.py MAX_RESOURCE_NAME_LENGTH
const MAX_NAME_LENGTH = 100;

export async function newOrganization(ctx) {
  const name = field({
    label: "Organization name",
    name: "name",
    required: true,
    maxlength: MAX_NAME_LENGTH,
    autocomplete: "organization",
    hint: "Your company's or team's name, as your teammates know it. You can change it later.",
  });
  const create = form({
    submit: "Create organization",
    busy: "Creating…",
    fields: [name],
    idempotent: true,
    fieldFor: { validation_error: "name" },
    onSubmit: async (values, { idempotencyKey }) => {
      const created = await api("POST", "/orgs", { body: { name: values.name.trim() }, idempotencyKey });
      forgetMe();
      ctx.navigate(orgPath(created.id, "/general"));
    },
  });
  ctx.main.append(
    h(
      "section",
      { class: "card narrow" },
      h("h1", {}, "Create an organization"),
      h("p", { class: "muted" }, "An organization holds your projects, your team and its API keys. You will be its owner; invite your team next."),
      create,
    ),
  );
}
