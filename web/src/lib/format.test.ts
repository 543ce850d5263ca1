import { describe, expect, it } from "vitest";
import { enumValue, formatClock, formatMoney, formatNumber, parseDuration } from "./format";

describe("formatting per locale", () => {
  it("formats CNY and numbers for Chinese and English readers", () => {
    expect(formatMoney("12345.6", "CNY", "zh-CN")).toBe("¥12,345.60");
    expect(formatMoney("12345.6", "CNY", "en")).toBe("CN¥12,345.60");
    expect(formatNumber("1234567", "zh-CN")).toBe("1,234,567");
  });
  it("reads protobuf durations and shows what is left of a clock", () => {
    expect(parseDuration("5400s")).toBe(5400);
    expect(parseDuration("-90.5s")).toBe(-90.5);
    expect(parseDuration(undefined)).toBe(0);
    expect(formatClock(5400)).toBe("1:30");
    expect(formatClock(-3900)).toBe("-1:05");
  });
  it("strips enum prefixes", () => {
    expect(enumValue("LIFECYCLE_STAGE_AT_RISK", "LIFECYCLE_STAGE_")).toBe("AT_RISK");
    expect(enumValue("LOYAL", "LIFECYCLE_STAGE_")).toBe("LOYAL");
  });
});
