// Duplicates and merges in the customer 360: who else looks like this
// customer, and the dry run's field-by-field diff in readable form.
import type { Schemas } from "../api/client";

/** The other customers of the groups a customer is in, each once, in group order. */
export function otherMembers(groups: Schemas["v1DuplicateGroup"][], self: string): string[] {
  const out: string[] = [];
  for (const g of groups) for (const c of g.customers ?? []) if (c !== self && !out.includes(c)) out.push(c);
  return out;
}

export interface DiffRow {
  field: string;
  before: string;
  after: string;
  source: string;
  changed: boolean;
}

/** A FieldMerge's JSON values as text: lists joined, objects as key: value, absent as "". */
export function showJSON(v: string | undefined): string {
  if (!v) return "";
  let x: unknown;
  try {
    x = JSON.parse(v);
  } catch {
    return v;
  }
  const show = (y: unknown): string => {
    if (y === null || y === undefined) return "";
    if (Array.isArray(y)) return y.map(show).join(", ");
    if (typeof y === "object") return Object.entries(y as Record<string, unknown>).map(([k, w]) => `${k}: ${show(w)}`).join("; ");
    return String(y);
  };
  return show(x);
}

/** The dry run's diff, fields that change first. */
export function diffRows(fields: Schemas["v1FieldMerge"][]): DiffRow[] {
  const rows = fields.map((f) => {
    const before = showJSON(f.survivorValue);
    const after = showJSON(f.mergedValue);
    return { field: f.field ?? "", before, after, source: f.source ?? "", changed: before !== after };
  });
  return [...rows.filter((r) => r.changed), ...rows.filter((r) => !r.changed)];
}
