// Dates, relative times and small labels, in the reader's locale.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function when(iso) {
  if (!iso) return "—";
  return dateTime.format(new Date(iso));
}

export function day(iso) {
  if (!iso) return "—";
  return dateOnly.format(new Date(iso));
}

const STEPS = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [30, "day"],
  [12, "month"],
  [Infinity, "year"],
];

/** "3 days ago", "in 2 hours"; "never" for null. */
export function ago(iso, never = "never") {
  if (!iso) return never;
  let amount = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return when(iso);
}

/** Days between an instant and now (positive in the past). */
export function daysSince(iso) {
  return (Date.now() - new Date(iso).getTime()) / 86_400_000;
}

export function roleLabel(role) {
  return { owner: "Owner", admin: "Admin", member: "Member" }[role] || role;
}
