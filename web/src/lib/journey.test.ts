import { describe, expect, it } from "vitest";
import { journeyHeatMap } from "./journey";

describe("journey heat map", () => {
  it("puts stages in lifecycle order and touchpoints by name", () => {
    const m = journeyHeatMap(
      [
        { stage: "LOYAL", touchpoint: "touchpoints/web", customers: "3" },
        { stage: "PROSPECT", touchpoint: "touchpoints/store", customers: "7" },
        { stage: "LIFECYCLE_STAGE_PROSPECT", touchpoint: "touchpoints/web", customers: "2" },
      ],
      "customers",
    );
    expect(m.stages).toEqual(["PROSPECT", "LOYAL"]);
    expect(m.touchpoints).toEqual(["touchpoints/store", "touchpoints/web"]);
    expect(m.points).toEqual([
      [1, 1, 3],
      [0, 0, 7],
      [1, 0, 2],
    ]);
    expect(m.max).toBe(7);
  });
});
