// The console's entry point: land from a provider sign-in or link (query parameters
// on "/"), resume the session from the refresh cookie, then route.

import { COOKIE_DELIVERY, api, hasBrowserSession, isSignedIn, onSignedOut, refresh, setReauthenticator } from "./lib/api.js";
import { currentLocation, navigate, startRouter } from "./lib/router.js";
import { finishSignIn, takeRememberedNext } from "./lib/signin.js";
import { sudoPrompt } from "./lib/sudo.js";

setReauthenticator(sudoPrompt);
onSignedOut(() => {
  const { path } = currentLocation();
  if (!path.startsWith("/sign-in")) navigate(`/sign-in?next=${encodeURIComponent(path)}`);
});

/** A provider flow ends on "/?login_code=…", "/?linked=…" or "/?error=…": take it,
 * then clear it from the address bar (and so from history) at once. */
async function landing() {
  const query = new URLSearchParams(window.location.search);
  if (![...query.keys()].length) return;
  window.history.replaceState(null, "", `/${window.location.hash}`);
  const loginCode = query.get("login_code");
  const error = query.get("error");
  const linked = query.get("linked");
  if (loginCode) {
    try {
      const answer = await api("POST", "/auth/oauth/exchange", { body: { login_code: loginCode }, headers: COOKIE_DELIVERY, auth: false });
      finishSignIn(answer, takeRememberedNext());
    } catch (failure) {
      navigate(`/sign-in?error=${encodeURIComponent(failure.code || "provider_error")}`);
    }
  } else if (error) {
    navigate(hasBrowserSession() ? `/account/profile?error=${encodeURIComponent(error)}` : `/sign-in?error=${encodeURIComponent(error)}`);
  } else if (linked) {
    navigate(`/account/profile?linked=${encodeURIComponent(linked)}`);
  }
}

async function boot() {
  await landing();
  if (!isSignedIn() && hasBrowserSession()) {
    try {
      await refresh();
    } catch {
      // The API is unreachable; the page shows its own error.
    }
  }
  document.getElementById("boot-status")?.remove();
  await startRouter();
}

boot();
