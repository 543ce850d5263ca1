// A builder for the common customer filters, written out as AIP-160 text
// (the same language the raw field takes), and the quoting it needs.

export interface FilterClause {
  field: string;
  op: "=" | "!=" | ":" | ">" | ">=" | "<" | "<=";
  value: string;
}

/** Fields the builder offers; enum-valued ones take bare identifiers. */
export const builderFields: Record<string, "enum" | "text" | "number" | "bool"> = {
  lifecycle_stage: "enum",
  value_tier: "enum",
  membership_tier: "enum",
  kind: "enum",
  display_name: "text",
  company: "text",
  city: "text",
  account_manager: "text",
  tags: "text",
  loyalty_points: "number",
  marketing_consent: "bool",
};

/** Quotes a string literal, escaping backslashes and double quotes. */
export function quote(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function literal(c: FilterClause): string {
  const kind = builderFields[c.field] ?? "text";
  const v = c.value.trim();
  if (kind === "enum") {
    if (!/^[A-Z][A-Z0-9_]*$/.test(v)) throw new Error(`${c.field}: ${v} is not a value`);
    return v;
  }
  if (kind === "number") {
    if (!/^-?\d+$/.test(v)) throw new Error(`${c.field}: ${v} is not a whole number`);
    return v;
  }
  if (kind === "bool") return v === "true" ? "true" : "false";
  return quote(v);
}

/** Joins the clauses with AND; clauses without a value are left out. */
export function buildFilter(clauses: FilterClause[]): string {
  return clauses
    .filter((c) => c.field && c.value.trim() !== "")
    .map((c) => `${c.field} ${c.op} ${literal(c)}`.replace(/ : /, ":"))
    .join(" AND ");
}

/** Combines the builder's filter with the raw AIP-160 text. */
export function combineFilters(...parts: string[]): string {
  const nonEmpty = parts.map((p) => p.trim()).filter(Boolean);
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? "";
  return nonEmpty.map((p) => `(${p})`).join(" AND ");
}
