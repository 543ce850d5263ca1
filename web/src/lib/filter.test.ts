import { describe, expect, it } from "vitest";
import { buildFilter, combineFilters, quote } from "./filter";

describe("buildFilter", () => {
  it("writes AIP-160 with enums bare, text quoted and has-operator tight", () => {
    expect(
      buildFilter([
        { field: "lifecycle_stage", op: "=", value: "LOYAL" },
        { field: "tags", op: ":", value: "vip" },
        { field: "loyalty_points", op: ">=", value: "1000" },
        { field: "city", op: "=", value: "" },
      ]),
    ).toBe('lifecycle_stage = LOYAL AND tags:"vip" AND loyalty_points >= 1000');
  });
  it("escapes quotes and backslashes so a value cannot end the literal", () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(buildFilter([{ field: "company", op: "=", value: 'x" OR display_name:"' }])).toBe('company = "x\\" OR display_name:\\""');
  });
  it("refuses what is not an enum value or a number", () => {
    expect(() => buildFilter([{ field: "lifecycle_stage", op: "=", value: "LOYAL OR 1" }])).toThrow();
    expect(() => buildFilter([{ field: "loyalty_points", op: ">", value: "1e9" }])).toThrow();
  });
  it("combines the builder and the raw text with parentheses", () => {
    expect(combineFilters("a = 1", "")).toBe("a = 1");
    expect(combineFilters("a = 1", "b = 2 OR c = 3")).toBe("(a = 1) AND (b = 2 OR c = 3)");
    expect(combineFilters("", " ")).toBe("");
  });
});
