// SLA countdowns: what is left of a target, ticking in the browser between
// reads. A running clock counts down to its due time; a paused, met or
// breached clock shows its state.
import type { Schemas } from "../api/client";

export type SlaView = { kind: "none" } | { kind: "running"; seconds: number } | { kind: "paused" | "met" | "breached" };

export function slaView(clock: Schemas["v1SlaClock"] | undefined, now: Date): SlaView {
  if (!clock || !clock.state || clock.state === "CLOCK_STATE_UNSPECIFIED") return { kind: "none" };
  switch (clock.state) {
    case "CLOCK_STATE_PAUSED":
      return { kind: "paused" };
    case "CLOCK_STATE_MET":
      return { kind: "met" };
    case "CLOCK_STATE_BREACHED":
      return { kind: "breached" };
  }
  if (!clock.dueTime) return { kind: "none" };
  const seconds = (new Date(clock.dueTime).getTime() - now.getTime()) / 1000;
  return seconds < 0 ? { kind: "breached" } : { kind: "running", seconds };
}
