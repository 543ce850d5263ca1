// My day: planned follow-ups grouped as overdue, today and upcoming in the
// user's own time zone, with the care greetings (follow-ups a care rule
// made, 客户关怀) apart: those due by tonight are sent from their own list.
import type { FollowUp } from "../api/client";

export interface Agenda {
  overdue: FollowUp[];
  today: FollowUp[];
  upcoming: FollowUp[];
  /** Care greetings due by the end of today, earliest first. */
  care: FollowUp[];
}

function startOfDay(d: Date): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

export function groupAgenda(followUps: FollowUp[], now: Date): Agenda {
  const today = startOfDay(now);
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  const agenda: Agenda = { overdue: [], today: [], upcoming: [], care: [] };
  const sorted = [...followUps].sort((a, b) => (a.dueTime ?? "").localeCompare(b.dueTime ?? ""));
  for (const f of sorted) {
    if (f.state && f.state !== "STATE_PLANNED") continue;
    const due = new Date(f.dueTime ?? 0);
    if (f.careRule) {
      if (due < tomorrow) agenda.care.push(f);
    } else if (due < now) agenda.overdue.push(f);
    else if (due < tomorrow) agenda.today.push(f);
    else agenda.upcoming.push(f);
  }
  return agenda;
}

/** The same time of day, days later (the one-click reschedule). */
export function postpone(due: string | undefined, days: number, now: Date): Date {
  const d = new Date(due ?? now);
  const base = d < now ? now : d;
  return new Date(base.getFullYear(), base.getMonth(), base.getDate() + days, d.getHours(), d.getMinutes());
}

/** The AIP-160 filter of a user's agenda until `until`. */
export function agendaFilter(assignee: string, until: Date): string {
  return `assignee = "${assignee.replace(/["\\]/g, "")}" AND state = PLANNED AND due_time < "${until.toISOString().replace(/\.\d{3}Z$/, "Z")}"`;
}
