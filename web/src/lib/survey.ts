// Survey answers on their own scales: CSAT is 1–5 (4–5 satisfied, 3 neutral),
// NPS is 0–10 (9–10 promoters, 7–8 passives, the rest detractors), so the
// desk shows each score against its maximum with the standard reading.
import type { Schemas } from "../api/client";

export type SurveyLabel = "satisfied" | "neutral" | "dissatisfied" | "promoter" | "passive" | "detractor";

export interface SurveyView {
  score: number;
  max: number;
  label: SurveyLabel;
  tone: "ok" | "warn" | "breached";
}

export function surveyView(r: Schemas["v1SurveyResult"]): SurveyView {
  const score = r.score ?? 0;
  if (r.kind === "SURVEY_KIND_NPS") {
    if (score >= 9) return { score, max: 10, label: "promoter", tone: "ok" };
    if (score >= 7) return { score, max: 10, label: "passive", tone: "warn" };
    return { score, max: 10, label: "detractor", tone: "breached" };
  }
  if (score >= 4) return { score, max: 5, label: "satisfied", tone: "ok" };
  if (score === 3) return { score, max: 5, label: "neutral", tone: "warn" };
  return { score, max: 5, label: "dissatisfied", tone: "breached" };
}
