// An invitation link opened in the console (#/invitations/<token>): what it offers, and
// the answer that fits who is looking. The invited person signed in accepts or
// declines; someone signed in as another account is told so and may switch; nobody
// signed in is sent to sign in, or to the server's invitation page, which also lets a
// new person create their account with the invited address first.

import { api, isSignedIn, signOut } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { day, roleLabel, when } from "../lib/format.js";
import { actionButton } from "../lib/forms.js";
import { forgetMe, me } from "../lib/session.js";

// The link itself no longer works: say why in words, not in the API's terse detail.
const UNUSABLE = {
  not_found: "This invitation link does not work: it was revoked, or a newer invitation replaced it. Ask the person who invited you to send a new one.",
  invitation_expired: "This invitation has expired. Ask the person who invited you to send a new one.",
  invitation_used: "This invitation was already answered. If you accepted it, the organization is on your home page.",
};

function serverPage(token) {
  return `/invitations/${encodeURIComponent(token)}`;
}

function details(invitation) {
  return h(
    "dl",
    { class: "details" },
    h("dt", {}, "Organization"),
    h("dd", {}, invitation.org_name),
    h("dt", {}, "Invited by"),
    h("dd", {}, invitation.inviter_name),
    h("dt", {}, "Role"),
    h("dd", {}, roleLabel(invitation.role)),
    h("dt", {}, "Invited address"),
    h("dd", {}, invitation.email),
    h("dt", {}, "Expires"),
    h("dd", {}, h("time", { datetime: invitation.expires_at, title: when(invitation.expires_at) }, day(invitation.expires_at))),
  );
}

/** The invited person, signed in: accept (then on to the organization) or decline. */
function answerButtons(token, invitation, section, navigate) {
  const accept = actionButton(
    "Accept",
    async () => {
      const joined = await api("POST", `/invitations/${encodeURIComponent(token)}/accept`);
      forgetMe();
      navigate(`/orgs/${encodeURIComponent(joined.org_id)}/general`);
    },
    { busy: "Joining…", primary: true },
  );
  const decline = actionButton(
    "Decline",
    async () => {
      await api("POST", `/invitations/${encodeURIComponent(token)}/decline`);
      const heading = h("h1", { tabindex: "-1" }, "Invitation declined");
      replace(
        section,
        heading,
        h("p", { class: "success", role: "status" }, `You declined the invitation to ${invitation.org_name}.`),
        h("p", {}, h("a", { href: "#/" }, "Go to your organizations")),
      );
      document.title = "Invitation declined · Kuploy";
      heading.focus();
    },
    {
      busy: "Declining…",
      confirm: { title: `Decline the invitation to ${invitation.org_name}?`, text: "To join later, someone there has to invite you again.", confirm: "Decline", danger: true },
    },
  );
  return h("div", { class: "buttons" }, accept, decline);
}

/** Signed in as someone else: say it plainly, offer to switch accounts or to stay. */
function otherAccount(token, invitation, account) {
  const switchButton = actionButton(
    "Sign out and continue",
    async () => {
      await signOut();
      // The server's page signs in, or signs up, with the invited address.
      window.location.assign(serverPage(token));
    },
    { busy: "Signing out…", primary: true },
  );
  return [
    h("p", { class: "warning" }, `This invitation is for ${invitation.email}; you are signed in as ${account.email}.`),
    h("p", {}, `To answer it, sign out and continue as ${invitation.email} (you can create that account if you have none yet).`),
    h("div", { class: "buttons" }, switchButton, h("a", { class: "button", href: "#/" }, "Stay signed in")),
  ];
}

/** Nobody signed in: sign in here, or use the server's page (which can sign up first). */
function signedOut(token, invitation) {
  const next = encodeURIComponent(serverPage(token));
  return [
    h("p", {}, `Sign in as ${invitation.email} to answer. New to Kuploy? The invitation page lets you create an account with that address first.`),
    h(
      "div",
      { class: "buttons" },
      h("a", { class: "button primary", href: `#/sign-in?next=${next}` }, "Sign in to accept"),
      h("a", { class: "button", href: serverPage(token) }, "Open the invitation page"),
    ),
  ];
}

export async function invitation(ctx) {
  const token = ctx.params.token;
  const section = h("section", { class: "card" });
  ctx.main.append(h("div", { class: "narrow" }, section));
  let invitation;
  try {
    invitation = await api("GET", serverPage(token), { auth: false });
  } catch (failure) {
    replace(
      section,
      h("h1", {}, "Invitation"),
      h("p", { class: "form-error", role: "alert" }, UNUSABLE[failure.code] || failure.message),
      h("p", {}, h("a", { href: "#/" }, "Go to Kuploy")),
    );
    return;
  }

  let answer;
  if (!isSignedIn()) {
    answer = signedOut(token, invitation);
  } else {
    const account = await me();
    answer =
      account.email.toLowerCase() === invitation.email.toLowerCase()
        ? [h("p", {}, "Join the organization with this role?"), answerButtons(token, invitation, section, ctx.navigate)]
        : otherAccount(token, invitation, account);
  }
  replace(
    section,
    h("h1", {}, `Join ${invitation.org_name}`),
    h("p", {}, `${invitation.inviter_name} invited ${invitation.email} to join ${invitation.org_name} on Kuploy.`),
    details(invitation),
    answer,
  );
}
