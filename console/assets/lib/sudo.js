// Sudo mode: a sensitive action (2FA changes, password change, API keys, ownership,
// deleting an organization, require 2FA, linking) answered 403
// `reauthentication_required`. Ask for the password (and a 2FA code) in a dialog,
// renew the session's auth_time with POST /auth/reauthenticate, and let lib/api.js
// repeat the action.

import { renewSignIn } from "./api.js";
import { h, uid } from "./dom.js";
import { field, form } from "./forms.js";
import { currentLocation } from "./router.js";
import { rememberNext } from "./signin.js";
import { me } from "./session.js";

function consoleHome() {
  return `${window.location.origin}/`;
}

/** Resolves true once re-authenticated, false if the person cancels. */
export async function sudoPrompt() {
  const account = await me();
  return new Promise((resolve) => {
    const titleId = uid("sudo-title");
    let confirmed = false;
    const cancel = h("button", { type: "button" }, "Cancel");
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "sudo" });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(confirmed);
    });

    let content;
    if (!account.has_password) {
      content = [
        h("p", {}, "This action needs a recent sign-in. Your account signs in with a provider: sign in with it again, then repeat the action."),
        h(
          "div",
          { class: "providers" },
          account.identities.map((identity) =>
            h(
              "a",
              {
                class: "button",
                href: `/auth/oauth/${encodeURIComponent(identity.provider)}/start?redirect_to=${encodeURIComponent(consoleHome())}`,
                onclick: () => rememberNext(currentLocation().path),
              },
              `Sign in again with ${identity.provider}`,
            ),
          ),
        ),
        h("div", { class: "buttons" }, cancel),
      ];
    } else {
      const password = field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true });
      const fields = [password];
      if (account.two_factor_enabled) {
        fields.push(
          field({
            label: "Authentication code",
            name: "code",
            inputmode: "numeric",
            autocomplete: "one-time-code",
            maxlength: 32,
            hint: "From your authenticator app, or one of your recovery codes.",
          }),
        );
      }
      const sudoForm = form({
        submit: "Confirm",
        busy: "Confirming…",
        fields,
        fieldFor: { invalid_credentials: "password", invalid_code: "code" },
        onSubmit: async (values) => {
          const body = { password: values.password };
          const code = (values.code || "").trim();
          if (code) {
            if (/^\d{6}$/.test(code)) body.code = code;
            else body.recovery_code = code;
          }
          await renewSignIn(body);
          confirmed = true;
          dialog.close();
        },
      });
      sudoForm.querySelector(".buttons").append(cancel);
      content = [h("p", {}, "This is a sensitive action. Confirm it is you: sign-in stays fresh for 10 minutes."), sudoForm];
      window.setTimeout(() => password.input.focus(), 0);
    }
    dialog.append(h("h2", { id: titleId }, "Confirm it's you"), ...content);
    document.body.append(dialog);
    dialog.showModal();
  });
}
