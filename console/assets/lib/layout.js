// The frame around every page: the top bar (organization switcher, account, sign out)
// and the side navigation of the account's or an organization's settings. A link the
// role may not use is not shown (lib/permissions.js); the API refuses it anyway.

import { isSignedIn, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import { can } from "./permissions.js";
import { me } from "./session.js";

const ORG_PAGES = [
  ["general", "General", "org:read"],
  ["team", "Team", "members:read"],
  ["api-keys", "API Keys", "api_keys:manage"],
  ["audit-log", "Audit log", "audit:read"],
  ["access-review", "Access review", "members:manage"],
  ["billing", "Billing", "billing:manage"],
];

const ACCOUNT_PAGES = [
  ["/account/profile", "Profile"],
  ["/account/security", "Security"],
  ["/account/activity", "Sign-in history"],
];

/** The settings pages a role sees for an organization: [[slug, label], ...]. */
export function orgPagesFor(role) {
  return ORG_PAGES.filter(([, , permission]) => can(role, permission)).map(([slug, label]) => [slug, label]);
}

function navLink(path, label, current) {
  return h("li", {}, h("a", { href: `#${path}`, "aria-current": path === current ? "page" : null }, label));
}

function orgSwitcher(account, orgId) {
  const select = h(
    "select",
    { id: "org-switcher", "aria-label": "Organization" },
    h("option", { value: "" }, account.organizations.length ? "Choose an organization…" : "No organization yet"),
    account.organizations.map((org) => h("option", { value: org.id, selected: org.id === orgId }, org.name)),
    h("option", { value: "new" }, "+ Create organization"),
  );
  select.addEventListener("change", () => {
    if (select.value === "new") window.location.hash = "#/orgs/new";
    else if (select.value) window.location.hash = `#/orgs/${encodeURIComponent(select.value)}/general`;
  });
  return select;
}

export async function renderChrome({ area, path, orgId = null, role = null }) {
  const topbar = document.getElementById("topbar");
  const sidenav = document.getElementById("sidenav");
  const brand = h("a", { class: "brand", href: "#/" }, "Kuploy");
  if (!isSignedIn()) {
    replace(topbar, brand, h("a", { href: "#/sign-in" }, "Sign in"));
    replace(sidenav);
    sidenav.hidden = true;
    return;
  }
  const account = await me();
  const signOutButton = h("button", { type: "button", class: "linklike" }, "Sign out");
  signOutButton.addEventListener("click", async () => {
    signOutButton.disabled = true;
    try {
      await signOut();
    } finally {
      window.location.hash = "#/sign-in";
    }
  });
  replace(
    topbar,
    brand,
    orgSwitcher(account, orgId),
    h(
      "div",
      { class: "account-menu" },
      h("span", { class: "account-email" }, account.email),
      h("a", { href: "#/account/profile" }, "Account settings"),
      signOutButton,
    ),
  );

  if (area === "org" && orgId) {
    const org = account.organizations.find((o) => o.id === orgId);
    const base = `/orgs/${encodeURIComponent(orgId)}`;
    replace(
      sidenav,
      h("h2", {}, org ? org.name : "Organization"),
      h("ul", {}, orgPagesFor(role).map(([slug, label]) => navLink(`${base}/${slug}`, label, path))),
    );
    sidenav.setAttribute("aria-label", "Organization settings");
    sidenav.hidden = false;
  } else if (area === "account") {
    replace(sidenav, h("h2", {}, "Account settings"), h("ul", {}, ACCOUNT_PAGES.map(([p, label]) => navLink(p, label, path))));
    sidenav.setAttribute("aria-label", "Account settings");
    sidenav.hidden = false;
  } else {
    replace(sidenav);
    sidenav.hidden = true;
  }
}
