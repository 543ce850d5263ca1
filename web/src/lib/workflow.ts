// The ticket workflow as the service desk enforces it (NEW → OPEN →
// PENDING_CUSTOMER ⇄ OPEN → RESOLVED → CLOSED, reopening from RESOLVED or
// CLOSED), so the console offers only the moves the API will accept.
const next: Record<string, string[]> = {
  STATUS_NEW: ["STATUS_OPEN"],
  STATUS_OPEN: ["STATUS_PENDING_CUSTOMER", "STATUS_RESOLVED"],
  STATUS_PENDING_CUSTOMER: ["STATUS_OPEN"],
  STATUS_RESOLVED: ["STATUS_CLOSED", "STATUS_OPEN"],
  STATUS_CLOSED: ["STATUS_OPEN"],
};

export function nextStatuses(status: string | undefined): string[] {
  return next[status ?? ""] ?? [];
}
