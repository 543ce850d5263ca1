import { describe, expect, it } from "vitest";
import { nextStatuses } from "./workflow";

describe("ticket workflow", () => {
  it("offers the moves the service desk accepts", () => {
    expect(nextStatuses("STATUS_NEW")).toEqual(["STATUS_OPEN"]);
    expect(nextStatuses("STATUS_OPEN")).toContain("STATUS_RESOLVED");
    expect(nextStatuses("STATUS_RESOLVED")).toEqual(["STATUS_CLOSED", "STATUS_OPEN"]);
    expect(nextStatuses(undefined)).toEqual([]);
  });
});
