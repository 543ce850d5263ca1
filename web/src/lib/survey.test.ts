import { describe, expect, it } from "vitest";
import { surveyView } from "./survey";

describe("survey answers", () => {
  it("reads CSAT on 1–5", () => {
    expect(surveyView({ kind: "SURVEY_KIND_CSAT", score: 5 })).toEqual({ score: 5, max: 5, label: "satisfied", tone: "ok" });
    expect(surveyView({ kind: "SURVEY_KIND_CSAT", score: 3 }).label).toBe("neutral");
    expect(surveyView({ kind: "SURVEY_KIND_CSAT", score: 2 }).tone).toBe("breached");
  });
  it("reads NPS on 0–10", () => {
    expect(surveyView({ kind: "SURVEY_KIND_NPS", score: 9 })).toEqual({ score: 9, max: 10, label: "promoter", tone: "ok" });
    expect(surveyView({ kind: "SURVEY_KIND_NPS", score: 8 }).label).toBe("passive");
    expect(surveyView({ kind: "SURVEY_KIND_NPS", score: 6 }).label).toBe("detractor");
  });
});
