// The journey map as a heat map: stages (rows, lifecycle order) ×
// touchpoints (columns), one metric per cell.
import type { Schemas } from "../api/client";
import { enumValue } from "./format";

export type JourneyMetric = "customers" | "interactions" | "conversionPercent" | "averageSatisfaction" | "complaintPercent";

export const stageOrder = ["PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"];

export interface HeatMap {
  stages: string[];
  touchpoints: string[];
  /** [touchpoint index, stage index, value] as ECharts' heat map takes them. */
  points: [number, number, number][];
  max: number;
}

export function journeyHeatMap(cells: Schemas["v1JourneyCell"][], metric: JourneyMetric): HeatMap {
  const stageOf = (c: Schemas["v1JourneyCell"]) => enumValue(c.stage, "LIFECYCLE_STAGE_");
  const present = new Set(cells.map(stageOf));
  const stages = [...stageOrder.filter((s) => present.has(s)), ...[...present].filter((s) => !stageOrder.includes(s)).sort()];
  const touchpoints = [...new Set(cells.map((c) => c.touchpoint ?? ""))].sort();
  let max = 0;
  const points = cells.map((c): [number, number, number] => {
    const v = Number(c[metric] ?? 0);
    max = Math.max(max, v);
    return [touchpoints.indexOf(c.touchpoint ?? ""), stages.indexOf(stageOf(c)), v];
  });
  return { stages, touchpoints, points, max };
}
