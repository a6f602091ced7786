// Organization Settings → API Keys: create a key (a preset or chosen scopes, an
// expiry), see its secret once with ready-to-paste snippets, list the keys, rotate
// one with a grace period, revoke one. The secret is only ever in the create or
// rotate answer: "Done" drops it from the page, and nothing else keeps it.

import { allPages, api } from "../lib/api.js";
import { announce, h, replace, uid } from "../lib/dom.js";
import { actionButton, field, form } from "../lib/forms.js";
import { ago, day, when } from "../lib/format.js";
import { pageQuery, pagedTable } from "../lib/pager.js";
import { TABLE, can } from "../lib/permissions.js";

const PRESETS = [
  ["read-only", "Read-only", "Reads everything a key may read; changes nothing."],
  ["deploy", "Deploy", "Read-only, plus starting deployments: what a CI pipeline needs."],
  ["full", "Full access", "Every scope a key may hold. Prefer a narrower key."],
];
const CUSTOM = "custom";

// Scopes grouped by what they are about, in the order a person thinks of them.
const RESOURCES = [
  ["org", "Organization"],
  ["members", "Members"],
  ["projects", "Projects"],
  ["apps", "Applications"],
  ["databases", "Databases"],
  ["notifications", "Notification channels"],
  ["billing", "Billing"],
  ["audit", "Audit log"],
];

const EXPIRY = [
  ["30", "30 days"],
  ["90", "90 days"],
  ["180", "180 days"],
  ["365", "365 days"],
  ["never", "Never"],
];

const GRACE = [
  ["none", "No grace period: the old key stops now"],
  ["1", "1 hour"],
  ["24", "24 hours"],
  ["168", "7 days"],
];

function presetLabel(preset) {
  return (PRESETS.find(([id]) => id === preset) || [preset, preset])[1];
}

/** Copy text; when the browser refuses, select it so Ctrl+C does the rest. */
function copyButton(label, text, source) {
  const status = h("span", { class: "muted copy-status", role: "status" });
  const button = h("button", { type: "button" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
  return h("div", { class: "buttons" }, button, status);
}

function exampleRoute(orgId, scopes) {
  const base = `${window.location.origin}/orgs/${encodeURIComponent(orgId)}`;
  if (scopes.includes("members:read") || !scopes.includes("org:read")) return `${base}/members`;
  return base;
}

/** The secret, shown once, with a curl line and a GitHub Actions step that use it. */
function secretPanel(created, orgId, { title, onDone }) {
  const headingId = uid("key-shown");
  const route = exampleRoute(orgId, created.scopes);
  const curl = `export KUPLOY_API_KEY=${created.key}\ncurl -H "Authorization: Bearer $KUPLOY_API_KEY" ${route}`;
  const workflow = [
    "- name: Call Kuploy",
    "  env:",
    "    KUPLOY_API_KEY: ${{ secrets.KUPLOY_API_KEY }}",
    "  run: |",
    `    curl --fail -H "Authorization: Bearer $KUPLOY_API_KEY" ${route}`,
  ].join("\n");
  const secret = h("code", { class: "secret" }, created.key);
  const curlCode = h("code", {}, curl);
  const workflowCode = h("code", {}, workflow);
  const done = h("button", { type: "button", class: "primary" }, "Done");
  done.addEventListener("click", onDone);
  const heading = h("h2", { id: headingId, tabindex: "-1" }, title);
  const panel = h(
    "section",
    { class: "card key-shown", "aria-labelledby": headingId },
    heading,
    h("p", { class: "warning", role: "alert" }, "Copy this key now. It won't be shown again."),
    h("p", {}, `${created.description} · `, h("span", { class: "mono" }, `${created.prefix}…`), created.expires_at ? ` · expires ${day(created.expires_at)}` : " · never expires"),
    h("div", { class: "secret-box" }, secret),
    copyButton("Copy key", created.key, secret),
    h("h3", {}, "Use it with curl"),
    h("pre", { class: "snippet", tabindex: "0" }, curlCode),
    copyButton("Copy curl command", curl, curlCode),
    h("h3", {}, "Use it in a GitHub Actions step"),
    h("p", { class: "hint" }, "Save the key as a repository secret named KUPLOY_API_KEY (Settings → Secrets and variables → Actions), then add this step:"),
    h("pre", { class: "snippet", tabindex: "0" }, workflowCode),
    copyButton("Copy workflow step", workflow, workflowCode),
    h("div", { class: "buttons" }, done),
  );
  panel.heading = heading;
  return panel;
}

function presetChoice(value, label, hint, scopes, checked) {
  const id = uid(`preset-${value}`);
  const hintId = `${id}-hint`;
  return h(
    "div",
    { class: "choice" },
    h("label", { class: "check", for: id }, h("input", { type: "radio", id, name: "preset", value, checked, "aria-describedby": hintId }), label),
    h("p", { class: "hint", id: hintId }, hint, scopes.length ? [" Holds: ", h("span", { class: "mono" }, scopes.join(", ")), "."] : null),
  );
}

function scopeGroups() {
  const groups = RESOURCES.map(([resource, label]) => {
    const scopes = TABLE.key_scopes.filter((s) => s.split(":")[0] === resource);
    if (!scopes.length) return null;
    return h(
      "fieldset",
      { class: "scope-group" },
      h("legend", {}, label),
      h(
        "div",
        { class: "checks" },
        scopes.map((scope) => {
          const id = uid("scope");
          return h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, name: "scopes", value: scope, dataset: { group: "scopes" }, disabled: true }), h("span", { class: "mono" }, scope));
        }),
      ),
    );
  });
  const error = h("p", { class: "field-error", id: uid("scopes-error"), hidden: true });
  return { node: h("div", { class: "scope-groups", hidden: true }, groups, error), error };
}

function createForm(orgId, onCreated) {
  const description = field({ label: "Description", name: "description", required: true, maxlength: 100, autocomplete: "off", hint: "What uses this key, e.g. “GitHub Actions deploy of web”." });
  const expiry = field({ label: "Expires", name: "expires_in_days", options: EXPIRY, value: "90", hint: "A key that expires limits the damage of a leak. Rotate it before then." });
  const custom = scopeGroups();
  const scopes = h(
    "fieldset",
    {},
    h("legend", {}, "Scopes"),
    PRESETS.map(([value, label, hint]) => presetChoice(value, label, hint, TABLE.scope_presets[value] || [], value === "deploy")),
    presetChoice(CUSTOM, "Choose individual scopes", "Only the scopes you tick below.", [], false),
    custom.node,
  );
  scopes.addEventListener("change", (event) => {
    if (event.target.name !== "preset") return;
    const choosing = event.target.value === CUSTOM;
    custom.node.hidden = !choosing;
    for (const box of custom.node.querySelectorAll("input")) box.disabled = !choosing;
  });
  return form({
    submit: "Create key",
    busy: "Creating key…",
    idempotent: true,
    fields: [description, scopes, expiry],
    onSubmit: async (values, { form: node, idempotencyKey }) => {
      const body = { description: values.description.trim() };
      if (values.preset === CUSTOM) {
        if (!values.scopes || !values.scopes.length) {
          custom.error.textContent = "Choose at least one scope.";
          custom.error.hidden = false;
          node.querySelector(".scope-groups input").focus();
          announce(custom.error.textContent);
          return;
        }
        body.scopes = values.scopes;
      } else {
        body.preset = values.preset;
      }
      body.expires_in_days = values.expires_in_days === "never" ? null : Number(values.expires_in_days);
      const created = await api("POST", `/orgs/${encodeURIComponent(orgId)}/api-keys`, { body, idempotencyKey });
      onCreated(created);
    },
  });
}

function scopesCell(item) {
  const summary = item.preset ? `${presetLabel(item.preset)} preset` : `${item.scopes.length} ${item.scopes.length === 1 ? "scope" : "scopes"}`;
  return h("details", { class: "scopes" }, h("summary", {}, summary), h("ul", { class: "plain mono" }, item.scopes.map((s) => h("li", {}, s))));
}

function timeCell(iso, never = "never") {
  if (!iso) return h("span", { class: "muted" }, never);
  return h("time", { datetime: iso, title: when(iso) }, ago(iso));
}

function isPast(iso) {
  return Boolean(iso) && new Date(iso).getTime() <= Date.now();
}

function statusCell(item) {
  if (isPast(item.revoked_at)) return h("span", { class: "badge danger" }, "revoked");
  if (item.revoked_at) return h("span", { class: "badge warn", title: when(item.revoked_at) }, `replaced: stops ${ago(item.revoked_at)}`);
  if (isPast(item.expires_at)) return h("span", { class: "badge warn" }, "expired");
  return h("span", { class: "badge ok" }, "active");
}

function expiresCell(item) {
  if (!item.expires_at) return h("span", { class: "muted" }, "never");
  return h("span", {}, h("time", { datetime: item.expires_at, title: when(item.expires_at) }, day(item.expires_at)), isPast(item.expires_at) ? [" ", h("span", { class: "badge warn" }, "expired")] : null);
}

/** A dialog asking for the grace period; resolves the new key, or null when cancelled. */
function rotateDialog(orgId, item) {
  return new Promise((resolve) => {
    const titleId = uid("rotate-title");
    let created = null;
    const grace = field({ label: "Keep the old key working for", name: "grace", options: GRACE, value: "none", hint: "A grace period lets running deployments switch to the new key first." });
    const cancel = h("button", { type: "button" }, "Cancel");
    const dialog = h("dialog", { "aria-labelledby": titleId });
    const rotate = form({
      submit: "Rotate key",
      busy: "Rotating…",
      fields: [grace],
      onSubmit: async (values) => {
        const body = values.grace === "none" ? {} : { grace_period_hours: Number(values.grace) };
        created = await api("POST", `/orgs/${encodeURIComponent(orgId)}/api-keys/${encodeURIComponent(item.id)}/rotate`, { body });
        dialog.close();
      },
    });
    rotate.querySelector(".buttons").append(cancel);
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(created);
    });
    dialog.append(
      h("h2", { id: titleId }, `Rotate “${item.description}”`),
      h("p", {}, "A new key with the same description, scopes and lifetime replaces ", h("span", { class: "mono" }, `${item.prefix}…`), ". Its secret is shown once."),
      rotate,
    );
    document.body.append(dialog);
    dialog.showModal();
    grace.input.focus();
  });
}

export async function apiKeys(ctx) {
  const orgId = ctx.params.org;
  const base = `/orgs/${encodeURIComponent(orgId)}/api-keys`;
  ctx.main.append(h("h1", {}, "API keys"));
  if (!can(ctx.role, "api_keys:manage")) {
    ctx.main.append(h("p", { class: "notice" }, "Only owners and admins manage this organization's API keys."));
    return;
  }
  ctx.main.append(h("p", { class: "muted" }, "Keys let scripts and CI pipelines act in this organization with only the scopes you give them. Kuploy stores a hash: a key is shown once, when it is made."));

  const creator = new Map();
  try {
    for (const m of await allPages(`/orgs/${encodeURIComponent(orgId)}/members`)) creator.set(m.user_id, m.email);
  } catch {
    // The list still shows the creator's id.
  }

  // The create form, or in its place a key shown once (after create or rotate).
  const slot = h("div", {});
  let table = null;

  function showForm({ focus = false } = {}) {
    const heading = h("h2", { id: "create-key-title", tabindex: "-1" }, "Create key");
    replace(slot, h("section", { class: "card", "aria-labelledby": "create-key-title" }, heading, createForm(orgId, (created) => showSecret(created, "Your new key"))));
    if (focus) heading.focus();
  }

  function showSecret(created, title) {
    const panel = secretPanel(created, orgId, {
      title,
      onDone: () => {
        showForm({ focus: true });
        announce("The key is no longer shown.");
      },
    });
    replace(slot, panel);
    panel.heading.focus();
    announce(`${title} is shown once. Copy it now.`);
    table.reload();
  }

  function row(item, reload) {
    const actions = [];
    const live = !isPast(item.revoked_at) && !isPast(item.expires_at);
    if (live && !item.revoked_at) {
      const rotateButton = h("button", { type: "button", "aria-label": `Rotate ${item.description}` }, "Rotate");
      rotateButton.addEventListener("click", async () => {
        const created = await rotateDialog(orgId, item);
        if (created) showSecret(created, "Your rotated key");
        else rotateButton.focus();
      });
      actions.push(rotateButton, " ");
    }
    if (live) {
      const revoke = actionButton(
        "Revoke",
        async () => {
          await api("DELETE", `${base}/${encodeURIComponent(item.id)}`);
          announce(`${item.description} revoked.`);
          await reload();
          // The row's buttons are gone: keep keyboard users in the list.
          document.getElementById("keys-title")?.focus();
        },
        {
          busy: "Revoking…",
          danger: true,
          confirm: {
            title: `Revoke “${item.description}”?`,
            text: `Anything that uses ${item.prefix}… is refused within seconds. This cannot be undone.`,
            confirm: "Revoke key",
          },
        },
      );
      revoke.querySelector("button").setAttribute("aria-label", `Revoke ${item.description}`);
      actions.push(revoke);
    }
    return h(
      "tr",
      {},
      h("td", {}, item.description),
      h("td", { class: "mono" }, `${item.prefix}…`),
      h("td", {}, scopesCell(item)),
      h(
        "td",
        {},
        h("time", { datetime: item.created_at, title: when(item.created_at) }, day(item.created_at)),
        h("span", { class: "created-by muted" }, "by ", creator.get(item.created_by) || h("span", { class: "mono" }, item.created_by)),
      ),
      h("td", {}, timeCell(item.last_used_at)),
      h("td", {}, expiresCell(item)),
      h("td", {}, statusCell(item)),
      h("td", { class: "actions" }, actions),
    );
  }

  table = pagedTable({
    caption: "API keys",
    columns: ["Description", "Prefix", "Scopes", "Created", "Last used", "Expires", "Status", "Actions"],
    load: (cursor) => api("GET", `${base}${pageQuery(cursor)}`),
    row,
    empty: "No API keys yet.",
  });

  showForm();
  ctx.main.append(slot, h("section", { "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title", tabindex: "-1" }, "Keys"), table.node));
}
