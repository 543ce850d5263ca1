// Locale-aware formatting with Intl: dates, numbers and money (CNY first).
export function formatDateTime(iso: string | undefined, locale: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971) return "—";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function formatDate(iso: string | undefined, locale: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971) return "—";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(d);
}

export function formatNumber(n: number | string | undefined, locale: string, digits = 0): string {
  const v = typeof n === "string" ? Number(n) : n ?? 0;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(v);
}

export function formatPercent(p: number | undefined, locale: string): string {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format((p ?? 0) / 100);
}

/** Money as the API sends it: an exact decimal string and a currency code. */
export function formatMoney(amount: string | number | undefined, currency: string | undefined, locale: string): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "CNY" }).format(Number(amount ?? 0));
}

/** Parses a protobuf JSON duration ("3600s", "-90.5s") into seconds. */
export function parseDuration(d: string | undefined): number {
  if (!d) return 0;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(d);
  return m ? Number(m[1]) : 0;
}

/** Formats seconds as hours and minutes ("-1:05" when overdue). */
export function formatClock(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(Math.trunc(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${sign}${h}:${String(m).padStart(2, "0")}`;
}

export function formatDuration(d: string | undefined, locale: string): string {
  const s = parseDuration(d);
  if (!s) return "—";
  const unit = s >= 86400 ? "day" : s >= 3600 ? "hour" : "minute";
  const v = unit === "day" ? s / 86400 : unit === "hour" ? s / 3600 : s / 60;
  return new Intl.NumberFormat(locale, { style: "unit", unit, maximumFractionDigits: 1 }).format(v);
}

/** The enum value without its type prefix: "LIFECYCLE_STAGE_LOYAL" → "LOYAL". */
export function enumValue(v: string | undefined, prefix: string): string {
  if (!v) return "";
  return v.startsWith(prefix) ? v.slice(prefix.length) : v;
}
