import { describe, expect, it } from "vitest";
import { slaView } from "./sla";

const now = new Date("2026-12-07T10:00:00Z");

describe("SLA countdown", () => {
  it("counts a running clock down to its due time", () => {
    expect(slaView({ state: "CLOCK_STATE_RUNNING", dueTime: "2026-12-07T11:30:00Z" }, now)).toEqual({ kind: "running", seconds: 5400 });
  });
  it("turns red once the due time passes, before the server says so", () => {
    expect(slaView({ state: "CLOCK_STATE_RUNNING", dueTime: "2026-12-07T09:59:00Z" }, now)).toEqual({ kind: "breached" });
  });
  it("shows stopped clocks by their state", () => {
    expect(slaView({ state: "CLOCK_STATE_PAUSED", dueTime: "2026-12-07T09:00:00Z" }, now)).toEqual({ kind: "paused" });
    expect(slaView({ state: "CLOCK_STATE_MET" }, now)).toEqual({ kind: "met" });
    expect(slaView(undefined, now)).toEqual({ kind: "none" });
  });
});
