// Hash routes: the console is static files, so every page lives under "/#/…" and the
// static host only ever serves index.html and /assets/. Each route names the module
// and the function that renders it; modules load on first visit.

import { hasBrowserSession, isSignedIn, refresh } from "./api.js";
import { h, replace } from "./dom.js";
import { renderChrome } from "./layout.js";
import { me } from "./session.js";

// [pattern, module, export, {auth, area, guest}]
// auth: needs a signed-in person; guest: a signed-in person is sent home instead;
// area: which side navigation to show ("account" or "org").
export const ROUTES = [
  ["/", "home.js", "home", { auth: true }],
  ["/sign-in", "auth.js", "signIn", { guest: true }],
  ["/sign-in/2fa", "auth.js", "twoFactorStep", { guest: true }],
  ["/sign-up", "auth.js", "signUp", { guest: true }],
  ["/forgot-password", "auth.js", "forgotPassword", {}],
  ["/verify-email", "auth.js", "resendVerification", {}],
  ["/invitations/:token", "invitation.js", "invitation", {}],
  ["/account/profile", "account_profile.js", "profile", { auth: true, area: "account" }],
  ["/account/security", "account_security.js", "security", { auth: true, area: "account" }],
  ["/account/activity", "account_activity.js", "activity", { auth: true, area: "account" }],
  ["/orgs/new", "org_new.js", "newOrganization", { auth: true }],
  ["/orgs/:org/general", "org_general.js", "general", { auth: true, area: "org" }],
  ["/orgs/:org/team", "team.js", "team", { auth: true, area: "org" }],
  ["/orgs/:org/api-keys", "api_keys.js", "apiKeys", { auth: true, area: "org" }],
  ["/orgs/:org/audit-log", "audit_log.js", "auditLog", { auth: true, area: "org" }],
  ["/orgs/:org/access-review", "access_review.js", "accessReview", { auth: true, area: "org" }],
  ["/orgs/:org/billing", "billing.js", "billing", { auth: true, area: "org" }],
];

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/?#]+)";
  });
  return { regex: new RegExp(`^${source}$`), names };
}

const COMPILED = ROUTES.map(([pattern, module, name, flags]) => ({ ...compile(pattern), module, name, flags }));

/** "#/orgs/x/team?tab=1" → {path: "/orgs/x/team", query: URLSearchParams} */
export function currentLocation() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(search) };
}

export function navigate(path) {
  window.location.hash = `#${path}`;
}

function match(path) {
  for (const route of COMPILED) {
    const found = route.regex.exec(path);
    if (found) {
      const params = {};
      try {
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(found[i + 1]);
        });
      } catch {
        return null; // a malformed %-escape names no page
      }
      return { route, params };
    }
  }
  return null;
}

function notFound(main) {
  document.title = "Page not found · Kuploy";
  replace(main, h("section", { class: "card narrow" }, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, "There is no page at this address."), h("p", {}, h("a", { href: "#/" }, "Go to your organizations"))));
}

/** A page that could not be drawn: the problem's message, and the way out it calls for. */
function failurePage(error) {
  if (error.code === "two_factor_required") {
    // An organization that requires 2FA refuses every page to an account without it.
    return h(
      "section",
      { class: "card" },
      h("h1", { tabindex: "-1" }, "Two-factor authentication required"),
      h("p", { class: "form-error", role: "alert" }, error.message),
      h("p", {}, h("a", { href: "#/account/security" }, "Set up two-factor authentication")),
    );
  }
  return h(
    "section",
    { class: "card" },
    h("h1", { tabindex: "-1" }, "Something went wrong"),
    h("p", { class: "error", role: "alert" }, error.message || String(error)),
    h("p", {}, h("a", { href: "#/" }, "Go to your organizations")),
  );
}

let renderCount = 0;

async function render() {
  const main = document.getElementById("main");
  const { path, query } = currentLocation();
  const found = match(path);
  const ticket = ++renderCount;
  if (!found) {
    await renderChrome({ area: null, path });
    notFound(main);
    return;
  }
  const { route, params } = found;
  if (!isSignedIn() && hasBrowserSession()) {
    try {
      await refresh();
    } catch {
      // Unreachable API: the page below shows its own error when it loads.
    }
  }
  if (route.flags.auth && !isSignedIn()) {
    navigate(`/sign-in?next=${encodeURIComponent(path)}`);
    return;
  }
  if (route.flags.guest && isSignedIn() && route.name !== "twoFactorStep") {
    navigate("/");
    return;
  }
  // Each render draws into a container of its own: a page still loading when the
  // address changes again (a redirect, a quick click) fills a container no longer shown,
  // instead of adding a second page to #main.
  const ctx = { main: h("div", { class: "page" }), params, query, path, navigate, org: null, role: null };
  try {
    if (route.flags.area === "org") {
      ctx.role = (await me()).organizations.find((o) => o.id === params.org)?.role || null;
    }
    await renderChrome({ area: route.flags.area || null, path, orgId: params.org || null, role: ctx.role });
    const module = await import(`../pages/${route.module}`);
    if (ticket !== renderCount) return;
    replace(main, ctx.main);
    await module[route.name](ctx);
  } catch (error) {
    if (ticket !== renderCount) return;
    replace(main, failurePage(error));
  }
  if (ticket !== renderCount) return;
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    document.title = `${heading.textContent} · Kuploy`;
    heading.focus();
  }
}

/** Draw the page at the current address again (the address did not change). */
export function redraw() {
  return render();
}

export function startRouter() {
  window.addEventListener("hashchange", render);
  return render();
}
