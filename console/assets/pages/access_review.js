// Organization Settings → Access review: what to fix (findings by severity, each
// linking to the page where it is fixed), a chart of the API keys' age and last use
// so stale keys stand out, and who and what can act in the organization.

import { api } from "../lib/api.js";
import { h, svg, uid } from "../lib/dom.js";
import { ago, day, daysSince, roleLabel, when } from "../lib/format.js";
import { can } from "../lib/permissions.js";

const SEVERITIES = [
  ["high", "High", "danger"],
  ["medium", "Medium", "warn"],
  ["low", "Low", "neutral"],
];

// services/access_review.py's finding codes → the settings page where each is fixed.
const FIX_PAGE = {
  admin_without_2fa: "team",
  member_inactive: "team",
  invitation_expired: "team",
  member_without_2fa: "general",
  locked_out_by_2fa_policy: "general",
  key_creator_left: "api-keys",
  key_full_scope: "api-keys",
  key_needs_rotation: "api-keys",
  key_unused: "api-keys",
  key_exceeds_creator_role: "api-keys",
};
const PAGE_LABEL = { team: "Team", "api-keys": "API keys", general: "General settings" };
const PAGE_PERMISSION = { team: "members:read", "api-keys": "api_keys:manage", general: "org:read" };

/** A code this console does not know yet still links somewhere useful, by its subject. */
function fixPage(finding) {
  if (FIX_PAGE[finding.code]) return FIX_PAGE[finding.code];
  if (finding.subject.startsWith("key_")) return "api-keys";
  if (finding.subject.startsWith("usr_") || finding.subject.startsWith("inv_")) return "team";
  return "general";
}

// A key is stale when unused for 90 days or more, or never used 30 days after it was
// made; unused when its last use is 30 to 90 days old; fresh otherwise.
const STALE_DAYS = 90;
const NEVER_USED_GRACE_DAYS = 30;
const UNUSED_DAYS = 30;

function keyUsage(key) {
  const age = daysSince(key.created_at);
  if (!key.last_used_at) return age > NEVER_USED_GRACE_DAYS ? "stale" : "fresh";
  const idle = daysSince(key.last_used_at);
  if (idle >= STALE_DAYS) return "stale";
  if (idle >= UNUSED_DAYS) return "unused";
  return "fresh";
}

const USAGE_BADGE = { stale: "danger", unused: "warn", fresh: "ok" };

function usageLabel(key, usage) {
  if (usage === "stale") return key.last_used_at ? "stale" : "stale: never used";
  if (usage === "unused") return "unused 30–90 days";
  return key.last_used_at ? "in use" : "new";
}

function wholeDays(iso) {
  return Math.max(0, Math.floor(daysSince(iso)));
}

function lastUseText(key) {
  return key.last_used_at ? `used ${ago(key.last_used_at)}` : "never used";
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// The chart's geometry, in SVG user units (it scales to the card's width).
const WIDTH = 640;
const LABEL_WIDTH = 180;
const BAR_X = 190;
const BAR_SPACE = 280;
const VALUE_X = BAR_X + BAR_SPACE + 10;
const ROW = 26;
const BAR_HEIGHT = 14;
const AXIS_SPACE = 28;

/** One bar per key: length = age in days, colour = last use; with a summary for screen readers. */
function keyChart(keys) {
  const longest = Math.max(NEVER_USED_GRACE_DAYS, ...keys.map((k) => wholeDays(k.created_at)));
  const height = keys.length * ROW + AXIS_SPACE;
  const counts = { stale: 0, unused: 0, fresh: 0 };
  const rows = keys.map((key, i) => {
    const usage = keyUsage(key);
    counts[usage] += 1;
    const age = wholeDays(key.created_at);
    const y = i * ROW + 6;
    const width = Math.max(2, (age / longest) * BAR_SPACE);
    const detail = `${key.description}: ${age} ${age === 1 ? "day" : "days"} old, ${lastUseText(key)}`;
    return svg(
      "g",
      { class: "chart-row" },
      svg("title", {}, detail),
      svg("text", { x: LABEL_WIDTH, y: y + BAR_HEIGHT - 3, "text-anchor": "end" }, shorten(key.description, 28)),
      svg("rect", { class: `bar bar-${usage}`, x: BAR_X, y, width: width.toFixed(1), height: BAR_HEIGHT, rx: 2 }),
      svg("text", { x: VALUE_X, y: y + BAR_HEIGHT - 3 }, `${age} d · ${lastUseText(key)}`),
    );
  });
  const axisY = keys.length * ROW + 4;
  const summary =
    `Age and last use of ${keys.length} live ${keys.length === 1 ? "key" : "keys"}: ` +
    `${counts.stale} stale, ${counts.unused} unused for 30 to 90 days, ${counts.fresh} used lately or new. ` +
    "Bar length is the key's age, up to " +
    `${longest} days. The API keys table below lists each key.`;
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": summary, preserveAspectRatio: "xMinYMin meet" },
    rows,
    svg("line", { class: "axis", x1: BAR_X, x2: BAR_X + BAR_SPACE, y1: axisY, y2: axisY }),
    svg("text", { x: BAR_X, y: axisY + 16 }, "0"),
    svg("text", { x: BAR_X + BAR_SPACE, y: axisY + 16, "text-anchor": "end" }, `${longest} days old`),
  );
}

function legend() {
  return h(
    "p",
    { class: "legend" },
    h("span", { class: "key-stale" }, "Stale: unused 90+ days, or never used after 30"),
    h("span", { class: "key-unused" }, "Unused 30–90 days"),
    h("span", { class: "key-fresh" }, "Used in the last 30 days, or new"),
  );
}

function findingsSection(orgId, role, findings) {
  const section = h("section", { class: "card", "aria-labelledby": "findings-title" }, h("h2", { id: "findings-title" }, "Findings"));
  if (!findings.length) {
    section.append(h("p", { class: "success" }, "Nothing to fix: every admin has 2FA, and no key or member looks stale."));
    return section;
  }
  const tally = SEVERITIES.map(([id, label]) => `${findings.filter((f) => f.severity === id).length} ${label.toLowerCase()}`).join(", ");
  section.append(h("p", {}, `${findings.length} ${findings.length === 1 ? "finding" : "findings"}: ${tally}.`));
  for (const [severity, label, badge] of SEVERITIES) {
    const found = findings.filter((f) => f.severity === severity);
    if (!found.length) continue;
    section.append(
      h("h3", { class: `severity-${severity}` }, `${label} (${found.length})`),
      h(
        "ul",
        { class: "findings" },
        found.map((finding) => {
          const messageId = uid("finding");
          const page = fixPage(finding);
          const link = can(role, PAGE_PERMISSION[page])
            ? h("a", { href: `#/orgs/${encodeURIComponent(orgId)}/${page}`, "aria-describedby": messageId }, `Fix in ${PAGE_LABEL[page]}`)
            : null;
          return h(
            "li",
            { class: "finding", dataset: { code: finding.code } },
            h("span", { class: `badge ${badge}` }, label),
            " ",
            h("span", { id: messageId }, finding.message),
            link ? [" ", link] : null,
          );
        }),
      ),
    );
  }
  return section;
}

function dataTable(caption, columns, rows, empty) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "data" }, h("caption", { class: "visually-hidden" }, caption), h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows)),
  );
}

function timeText(iso, never) {
  if (!iso) return h("span", { class: "muted" }, never);
  return h("time", { datetime: iso, title: when(iso) }, ago(iso));
}

export async function accessReview(ctx) {
  const orgId = ctx.params.org;
  ctx.main.append(h("h1", {}, "Access review"));
  if (!can(ctx.role, "members:manage")) {
    ctx.main.append(h("p", { class: "notice" }, "Only owners and admins can review this organization's access."));
    return;
  }
  ctx.main.append(h("p", { class: "muted" }, "Who and what can act in this organization, and what to fix: admins without 2FA, members gone quiet, keys that hold too much or sit unused."));
  const review = await api("GET", `/orgs/${encodeURIComponent(orgId)}/access-review`);
  const emails = new Map(review.members.map((m) => [m.user_id, m.email]));

  const chart = h("section", { class: "card", "aria-labelledby": "chart-title" }, h("h2", { id: "chart-title" }, "API keys: age and last use"));
  if (review.api_keys.length) {
    // On a phone the chart keeps a readable size and scrolls sideways (by keyboard too).
    chart.append(legend(), h("div", { class: "chart-scroll", tabindex: "0", role: "group", "aria-label": "Key age chart" }, keyChart(review.api_keys)));
  }
  else chart.append(h("p", { class: "empty" }, "No live API keys."));

  const members = dataTable(
    "Members",
    ["Email", "Role", "2FA", "Last active"],
    review.members.map((m) =>
      h(
        "tr",
        {},
        h("td", {}, m.email),
        h("td", {}, roleLabel(m.role)),
        h("td", {}, m.two_factor_enabled ? h("span", { class: "badge ok" }, "2FA on") : h("span", { class: "badge warn" }, "no 2FA")),
        h("td", {}, timeText(m.last_active_at, "not yet")),
      ),
    ),
    "No members.",
  );

  const keys = dataTable(
    "API keys",
    ["Description", "Scopes", "Created by", "Created", "Last used", "Usage"],
    review.api_keys.map((k) => {
      const usage = keyUsage(k);
      const creator = emails.get(k.created_by) || h("span", { class: "mono" }, k.created_by);
      return h(
        "tr",
        {},
        h("td", {}, k.description),
        h("td", {}, `${k.scopes.length} ${k.scopes.length === 1 ? "scope" : "scopes"}`),
        h("td", {}, creator, k.creator_is_member ? null : [" ", h("span", { class: "badge danger" }, "left")]),
        h("td", {}, h("time", { datetime: k.created_at, title: when(k.created_at) }, day(k.created_at))),
        h("td", {}, timeText(k.last_used_at, "never")),
        h("td", {}, h("span", { class: `badge ${USAGE_BADGE[usage]}` }, usageLabel(k, usage))),
      );
    }),
    "No live API keys.",
  );

  ctx.main.append(
    findingsSection(orgId, ctx.role, review.findings),
    chart,
    h("section", { class: "card", "aria-labelledby": "review-members-title" }, h("h2", { id: "review-members-title" }, `Members (${review.members.length})`), members),
    h("section", { class: "card", "aria-labelledby": "review-keys-title" }, h("h2", { id: "review-keys-title" }, `API keys (${review.api_keys.length})`), keys),
  );
}
