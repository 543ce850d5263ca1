import { describe, expect, it } from "vitest";
import { diffRows, otherMembers, showJSON } from "./merge";

describe("duplicates and merge", () => {
  it("lists each other member once", () => {
    const groups = [
      { customers: ["customers/a", "customers/b"] },
      { customers: ["customers/c", "customers/a", "customers/b"] },
    ];
    expect(otherMembers(groups, "customers/a")).toEqual(["customers/b", "customers/c"]);
    expect(otherMembers([], "customers/a")).toEqual([]);
  });
  it("shows JSON values as text", () => {
    expect(showJSON('["a@x.cn","b@x.cn"]')).toBe("a@x.cn, b@x.cn");
    expect(showJSON('{"city":"杭州","zip":"310000"}')).toBe("city: 杭州; zip: 310000");
    expect(showJSON("null")).toBe("");
    expect(showJSON(undefined)).toBe("");
    expect(showJSON("not json")).toBe("not json");
  });
  it("puts the fields that change first", () => {
    const rows = diffRows([
      { field: "company", survivorValue: '"Acme"', mergedValue: '"Acme"' },
      { field: "emails", survivorValue: '["a@x.cn"]', mergedValue: '["a@x.cn","b@x.cn"]', source: "" },
      { field: "title", survivorValue: '""', mergedValue: '"CTO"', source: "customers/b" },
    ]);
    expect(rows.map((r) => [r.field, r.changed])).toEqual([
      ["emails", true],
      ["title", true],
      ["company", false],
    ]);
    expect(rows[1]).toMatchObject({ before: "", after: "CTO", source: "customers/b" });
  });
});
