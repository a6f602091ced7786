// Who is signed in: GET /me, read once per change and shared by every page.

import { api, onSignedOut } from "./api.js";

let current = null;

export async function me(force = false) {
  if (force || current === null) current = await api("GET", "/me");
  return current;
}

/** After anything that changes the account or its organizations. */
export function forgetMe() {
  current = null;
}

onSignedOut(forgetMe);

/** The signed-in person's role in an organization, or null. */
export async function roleIn(orgId) {
  const account = await me();
  const membership = account.organizations.find((o) => o.id === orgId);
  return membership ? membership.role : null;
}
