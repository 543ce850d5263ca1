import { describe, expect, it } from "vitest";
import { csvCell, toCSV } from "./csv";

describe("CSV export", () => {
  it("quotes per RFC 4180 and starts with a BOM for spreadsheet programs", () => {
    expect(toCSV(["名称", "n"], [["a,b", 1], ['say "hi"', 2]])).toBe('\uFEFF名称,n\r\n"a,b",1\r\n"say ""hi""",2\r\n');
  });
  it("defuses cells a spreadsheet would run as formulas, but not negative numbers", () => {
    expect(csvCell("=HYPERLINK(\"x\")")).toBe("\"'=HYPERLINK(\"\"x\"\")\"");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("-12.5")).toBe("-12.5");
    expect(csvCell(undefined)).toBe("");
  });
});
