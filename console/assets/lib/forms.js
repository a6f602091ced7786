// Forms and buttons that talk to the API: labelled fields, progress while a request
// runs, and the problem document's message next to the field (or action) it concerns,
// with focus moved there so keyboard and screen-reader users land on it.

import { ApiError } from "./api.js";
import { announce, h, uid } from "./dom.js";

// Problem codes that belong to one field whatever the route.
const CODE_FIELDS = {
  invalid_email: "email",
  password_too_short: "password",
  password_too_common: "password",
  invalid_code: "code",
};

/**
 * A labelled input: field({label, name, type, value, required, autocomplete, hint, ...attrs}).
 * Returns the wrapper; the input is wrapper.input.
 */
export function field({ label, name, type = "text", hint, options, ...attrs }) {
  const id = uid(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  let input;
  if (options) {
    input = h(
      "select",
      { id, name, "aria-describedby": describedBy, ...attrs },
      options.map(([value, text]) => h("option", { value, selected: value === attrs.value }, text)),
    );
  } else {
    input = h("input", { id, name, type, "aria-describedby": describedBy, ...attrs });
  }
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }),
  );
  wrapper.input = input;
  return wrapper;
}

/** A spinner and a busy label on a button while `work` runs. */
export async function withProgress(button, busyLabel, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), busyLabel);
  announce(busyLabel);
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.replaceChildren(label);
  }
}

function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const summary = form.querySelector(":scope > .form-error");
  if (summary) summary.remove();
}

function showFieldError(form, name, text) {
  const input = form.elements.namedItem(name);
  if (!input || !(input instanceof HTMLElement) || !input.id) return null;
  input.setAttribute("aria-invalid", "true");
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) {
    slot.textContent = text;
    slot.hidden = false;
  }
  return input;
}

/** A message at the top of a form (or before any node), announced and focusable. */
export function showFormError(container, text) {
  const existing = container.querySelector(":scope > .form-error");
  if (existing) existing.remove();
  const summary = h("p", { class: "form-error", role: "alert", tabindex: "-1" }, text);
  container.prepend(summary);
  return summary;
}

/**
 * Show an ApiError on a form: field errors next to their fields (the API's `errors`
 * list, or a code that belongs to a field, or `fieldFor[code]`), the rest on top.
 * Focus goes to the first invalid field, else to the message.
 */
export function showError(form, error, fieldFor = {}) {
  clearErrors(form);
  const message = error instanceof Error ? error.message : String(error);
  let first = null;
  if (error instanceof ApiError) {
    for (const item of error.errors) {
      const name = String(item.field || "").split(".").pop();
      const input = showFieldError(form, name, item.message);
      first = first || input;
    }
    const name = fieldFor[error.code] || CODE_FIELDS[error.code];
    if (!first && name) first = showFieldError(form, name, message);
  }
  const target = first || showFormError(form, message);
  target.focus();
  announce(message);
}

function valuesOf(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name || element.disabled) continue;
    if (element.type === "checkbox") {
      if (element.dataset.group) {
        values[element.dataset.group] = values[element.dataset.group] || [];
        if (element.checked) values[element.dataset.group].push(element.value);
      } else {
        values[element.name] = element.checked;
      }
    } else if (element.type === "radio") {
      if (element.checked) values[element.name] = element.value;
    } else if (element.tagName !== "BUTTON") {
      values[element.name] = element.value;
    }
  }
  return values;
}

/**
 * form({submit: "Save", busy: "Saving…", fields: [field(...), ...], onSubmit, fieldFor, idempotent})
 * onSubmit(values, {form, idempotencyKey}) runs with the button busy; an ApiError is
 * shown on the form. With `idempotent`, a retry of the same submission sends the same
 * Idempotency-Key (a new one after success), so a double click creates one thing.
 */
export function form({ submit, busy = "Working…", fields = [], onSubmit, fieldFor = {}, idempotent = false, danger = false, extra = [] }) {
  const button = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submit);
  const node = h("form", { class: "stack", novalidate: true }, fields, extra, h("div", { class: "buttons" }, button));
  let idempotencyKey = idempotent ? crypto.randomUUID() : undefined;
  let running = false;
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (running) return;
    clearErrors(node);
    const missing = [...node.elements].find((el) => el.required && !el.disabled && !String(el.value).trim());
    if (missing) {
      const label = node.querySelector(`label[for="${missing.id}"]`);
      showFieldError(node, missing.name, `${label ? label.textContent : "This field"} is required.`);
      missing.focus();
      return;
    }
    running = true;
    try {
      await withProgress(button, busy, () => onSubmit(valuesOf(node), { form: node, idempotencyKey }));
      if (idempotent) idempotencyKey = crypto.randomUUID();
    } catch (error) {
      showError(node, error, fieldFor);
    } finally {
      running = false;
    }
  });
  node.submitButton = button;
  return node;
}

/**
 * A button that runs an API action, with progress, an optional confirmation dialog,
 * and its error shown right after it.
 */
export function actionButton(label, work, { busy = "Working…", danger = false, confirm = null, primary = false } = {}) {
  const button = h("button", { type: "button", class: danger ? "danger" : primary ? "primary" : "" }, label);
  const errorSlot = h("span", { class: "field-error", role: "alert", hidden: true });
  button.addEventListener("click", async () => {
    errorSlot.hidden = true;
    if (confirm && !(await confirmDialog(confirm))) return;
    try {
      await withProgress(button, busy, work);
    } catch (error) {
      errorSlot.textContent = error instanceof Error ? error.message : String(error);
      errorSlot.hidden = false;
      if (button.isConnected) button.focus();
      announce(errorSlot.textContent);
    }
  });
  return h("span", { class: "action" }, button, " ", errorSlot);
}

/**
 * A modal confirmation: confirmDialog({title, text, confirm: "Remove", danger: true,
 * typed: "acme"}) resolves true when confirmed. With `typed`, the person must type it.
 */
export function confirmDialog({ title, text, confirm = "Confirm", danger = true, typed = null }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const typedField = typed ? field({ label: `Type ${typed} to confirm`, name: "typed", autocomplete: "off" }) : null;
    const yes = h("button", { type: "submit", class: danger ? "danger" : "primary", disabled: Boolean(typed) }, confirm);
    const no = h("button", { type: "button" }, "Cancel");
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId },
      h("form", { method: "dialog", class: "stack" }, h("h2", { id: titleId }, title), h("p", {}, text), typedField, h("div", { class: "buttons" }, yes, no)),
    );
    let answer = false;
    if (typedField) {
      typedField.input.addEventListener("input", () => {
        yes.disabled = typedField.input.value !== typed;
      });
    }
    yes.addEventListener("click", () => {
      answer = true;
    });
    no.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (typedField ? typedField.input : no).focus();
  });
}
