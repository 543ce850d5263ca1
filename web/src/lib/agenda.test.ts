import { describe, expect, it } from "vitest";
import { agendaFilter, groupAgenda, postpone } from "./agenda";

const now = new Date(2026, 11, 7, 10, 0); // 7 December, 10:00 local time
const at = (d: number, h: number) => new Date(2026, 11, d, h, 0).toISOString();

describe("My day", () => {
  it("groups planned follow-ups into overdue, today and upcoming, earliest first", () => {
    const g = groupAgenda(
      [
        { name: "up", dueTime: at(8, 9), state: "STATE_PLANNED" },
        { name: "today-late", dueTime: at(7, 18), state: "STATE_PLANNED" },
        { name: "this-morning", dueTime: at(7, 8), state: "STATE_PLANNED" },
        { name: "yesterday", dueTime: at(6, 9), state: "STATE_PLANNED" },
        { name: "done", dueTime: at(7, 11), state: "STATE_COMPLETED" },
      ],
      now,
    );
    expect(g.overdue.map((f) => f.name)).toEqual(["yesterday", "this-morning"]);
    expect(g.today.map((f) => f.name)).toEqual(["today-late"]);
    expect(g.upcoming.map((f) => f.name)).toEqual(["up"]);
    expect(g.care).toEqual([]);
  });
  it("keeps care greetings due by tonight apart, and later ones out of the day", () => {
    const care = "careRules/vip-birthday";
    const g = groupAgenda(
      [
        { name: "visit", dueTime: at(7, 15), state: "STATE_PLANNED" },
        { name: "greet-tonight", dueTime: at(7, 20), state: "STATE_PLANNED", careRule: care },
        { name: "greet-late", dueTime: at(5, 9), state: "STATE_PLANNED", careRule: care },
        { name: "greet-next-week", dueTime: at(14, 9), state: "STATE_PLANNED", careRule: care },
        { name: "greeted", dueTime: at(7, 9), state: "STATE_COMPLETED", careRule: care },
      ],
      now,
    );
    expect(g.care.map((f) => f.name)).toEqual(["greet-late", "greet-tonight"]);
    expect([...g.overdue, ...g.today, ...g.upcoming].map((f) => f.name)).toEqual(["visit"]);
  });
  it("postpones by whole days at the same time of day, from today if overdue", () => {
    expect(postpone(at(7, 15), 1, now)).toEqual(new Date(2026, 11, 8, 15, 0));
    expect(postpone(at(1, 9), 7, now)).toEqual(new Date(2026, 11, 14, 9, 0));
  });
  it("asks for the user's planned follow-ups before the horizon, in RFC 3339", () => {
    expect(agendaFilter('al"ice', new Date(Date.UTC(2026, 11, 21)))).toBe('assignee = "alice" AND state = PLANNED AND due_time < "2026-12-21T00:00:00Z"');
  });
});
