// A table that pages with the API's cursors: Previous / Next, "page N", and the
// problem document's message in place of the rows when a page cannot be read.

import { h, replace } from "./dom.js";

/**
 * pagedTable({caption, columns: ["Email", "Role", ...], load: (cursor) => api(...),
 *             row: (item, reload) => <tr>, empty: "No members yet."})
 * Returns {node, reload}. `load` answers {items, next_cursor}.
 */
export function pagedTable({ caption, columns, load, row, empty = "Nothing here yet." }) {
  const body = h("tbody");
  const status = h("p", { class: "muted", role: "status" });
  const previous = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");
  const position = h("span", { class: "muted" });
  const table = h(
    "table",
    { class: "data" },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  const cursors = [null];
  let index = 0;
  let nextCursor = null;

  async function show() {
    previous.disabled = true;
    next.disabled = true;
    table.setAttribute("aria-busy", "true");
    replace(status, "Loading…");
    try {
      const page = await load(cursors[index]);
      nextCursor = page.next_cursor || null;
      replace(body, page.items.map((item) => row(item, reload)));
      if (page.items.length === 0) {
        // A filtered list reads a bounded number of items per page, so an empty page
        // may still have a next one.
        const text = nextCursor ? "Nothing matched in this stretch; Next page reads on." : index === 0 ? empty : "No more items.";
        replace(body, h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, text)));
      }
      replace(status);
    } catch (error) {
      replace(body);
      replace(status, h("span", { class: "error", role: "alert" }, error.message));
    } finally {
      table.removeAttribute("aria-busy");
      previous.disabled = index === 0;
      next.disabled = !nextCursor;
      position.textContent = index > 0 || nextCursor ? `Page ${index + 1}` : "";
    }
  }

  async function reload() {
    await show();
  }

  previous.addEventListener("click", () => {
    if (index > 0) {
      index -= 1;
      show();
    }
  });
  next.addEventListener("click", () => {
    if (nextCursor) {
      cursors[index + 1] = nextCursor;
      index += 1;
      show();
    }
  });

  const node = h("div", {}, h("div", { class: "table-wrap" }, table), status, h("nav", { class: "pager", "aria-label": caption ? `${caption} pages` : "Pages" }, position, previous, next));
  show();
  return { node, reload };
}

/** "?limit=…&cursor=…" for a list route. */
export function pageQuery(cursor, limit = 25, extra = {}) {
  const params = new URLSearchParams({ limit: String(limit), ...extra });
  if (cursor) params.set("cursor", cursor);
  return `?${params}`;
}
