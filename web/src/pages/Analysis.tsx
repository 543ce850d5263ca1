import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, idOf, unwrap, type Schemas } from "../api/client";
import { Chart } from "../components/Chart";
import { DataTable } from "../components/DataTable";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatDuration, formatMoney, formatNumber, formatPercent, enumValue } from "../lib/format";
import { journeyHeatMap, type JourneyMetric } from "../lib/journey";

const tabs = ["journey", "funnel", "pareto", "rfm", "cohorts", "kpis"] as const;
type Tab = (typeof tabs)[number];

export function Analysis() {
  const { t } = useTranslation();
  const [tab, setTab] = useState<Tab>("journey");
  const [days, setDays] = useState(365);
  const period = useMemo(() => {
    const end = new Date();
    return { startTime: new Date(end.getTime() - days * 86400_000).toISOString(), endTime: end.toISOString() };
  }, [days]);
  return (
    <section>
      <h1>{t("analysis.title")}</h1>
      <div className="row">
        <div role="tablist" aria-label={t("analysis.title")} className="tabs">
          {tabs.map((x) => (
            <button
              key={x}
              role="tab"
              type="button"
              aria-selected={tab === x}
              className={tab === x ? "" : "secondary"}
              onClick={() => setTab(x)}
              onKeyDown={(e) => {
                const i = tabs.indexOf(x);
                if (e.key === "ArrowRight") setTab(tabs[(i + 1) % tabs.length]);
                if (e.key === "ArrowLeft") setTab(tabs[(i + tabs.length - 1) % tabs.length]);
              }}
            >
              {t(`analysis.${x}`)}
            </button>
          ))}
        </div>
        <span className="spacer" />
        <label>
          {t("analysis.period")}{" "}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {[30, 90, 365, 730].map((n) => (
              <option key={n} value={n}>
                {t("analysis.days", { n })}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div role="tabpanel">
        {tab === "journey" && <Journey period={period} />}
        {tab === "funnel" && <Funnel period={period} />}
        {tab === "pareto" && <Pareto period={period} />}
        {tab === "rfm" && <Rfm period={period} />}
        {tab === "cohorts" && <Cohorts period={period} />}
        {tab === "kpis" && <Kpis period={period} />}
      </div>
    </section>
  );
}

type Period = { startTime: string; endTime: string };

function Journey({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const [metric, setMetric] = useState<JourneyMetric>("customers");
  const map = useQuery({ queryKey: ["journey", period], queryFn: () => unwrap(api.GET("/v1/dashboards/journeyMap", { params: { query: period } })) });
  const touchpoints = useQuery({ queryKey: ["touchpoints"], queryFn: () => unwrap(api.GET("/v1/touchpoints", { params: { query: { pageSize: 200 } } })) });
  const tpName = new Map((touchpoints.data?.touchpoints ?? []).map((x) => [x.name ?? "", x.displayName ?? idOf(x.name)]));
  const cells = map.data?.cells ?? [];
  const heat = journeyHeatMap(cells, metric);
  const stageLabel = (s: string) => t(`enums.stage.${s}`, { defaultValue: s });
  const option = {
    tooltip: { position: "top" },
    grid: { left: 120, right: 20, top: 20, bottom: 90 },
    xAxis: { type: "category", data: heat.touchpoints.map((x) => tpName.get(x) ?? idOf(x)), axisLabel: { rotate: 30 }, splitArea: { show: true } },
    yAxis: { type: "category", data: heat.stages.map(stageLabel), splitArea: { show: true } },
    visualMap: { min: 0, max: heat.max || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#f0f7ff", "#1e6fd9", "#b3261e"] } },
    series: [{ type: "heatmap", name: t(`analysis.${metricKey[metric]}`), data: heat.points, label: { show: true, formatter: (p: { value: number[] }) => formatNumber(p.value[2], loc, 1) } }],
  };
  return (
    <>
      <h2>{t("analysis.journey")}</h2>
      <label>
        {t("analysis.metric")}{" "}
        <select value={metric} onChange={(e) => setMetric(e.target.value as JourneyMetric)} name="metric">
          {(Object.keys(metricKey) as JourneyMetric[]).map((m) => (
            <option key={m} value={m}>
              {t(`analysis.${metricKey[m]}`)}
            </option>
          ))}
        </select>
      </label>
      <ErrorBanner error={map.error} />
      {cells.length === 0 && map.data && <p className="muted">{t("analysis.empty")}</p>}
      <Chart option={option} label={t("analysis.journey")} height={380} />
      <DataTable
        rows={cells}
        testId="journey-table"
        csvName="journey-map.csv"
        columns={[
          { id: "stage", header: t("analysis.stage"), value: (c) => stageLabel(enumValue(c.stage, "LIFECYCLE_STAGE_")) },
          { id: "tp", header: t("analysis.touchpoint"), value: (c) => tpName.get(c.touchpoint ?? "") ?? idOf(c.touchpoint) },
          { id: "interactions", header: t("analysis.interactions"), value: (c) => Number(c.interactions ?? 0) },
          { id: "customers", header: t("analysis.customers"), value: (c) => Number(c.customers ?? 0) },
          { id: "conversion", header: t("analysis.conversion"), value: (c) => formatPercent(c.conversionPercent, loc) },
          { id: "csat", header: t("analysis.satisfaction"), value: (c) => formatNumber(c.averageSatisfaction, loc, 2) },
          { id: "complaints", header: t("analysis.complaints"), value: (c) => formatPercent(c.complaintPercent, loc) },
        ]}
      />
    </>
  );
}

const metricKey: Record<JourneyMetric, string> = {
  customers: "customers",
  interactions: "interactions",
  conversionPercent: "conversion",
  averageSatisfaction: "satisfaction",
  complaintPercent: "complaints",
};

function Funnel({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const q = useQuery({ queryKey: ["funnel", period], queryFn: () => unwrap(api.GET("/v1/dashboards/lifecycleFunnel", { params: { query: period } })) });
  const stages = q.data?.stages ?? [];
  const label = (s: string | undefined) => t(`enums.stage.${enumValue(s, "LIFECYCLE_STAGE_")}`, { defaultValue: s });
  const option = {
    tooltip: { trigger: "axis" },
    legend: { data: [t("analysis.converted"), t("analysis.dropped")] },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "category", data: stages.map((s) => label(s.stage)) },
    yAxis: { type: "value" },
    series: [
      { name: t("analysis.converted"), type: "bar", stack: "f", data: stages.map((s) => Number(s.current?.converted ?? 0)) },
      { name: t("analysis.dropped"), type: "bar", stack: "f", data: stages.map((s) => Number(s.current?.dropped ?? 0)) },
    ],
  };
  return (
    <>
      <h2>{t("analysis.funnel")}</h2>
      <ErrorBanner error={q.error} />
      <Chart option={option} label={t("analysis.funnel")} />
      <DataTable<Schemas["v1FunnelStage"]>
        rows={stages}
        csvName="lifecycle-funnel.csv"
        columns={[
          { id: "stage", header: t("analysis.stage"), value: (s) => label(s.stage) },
          { id: "entered", header: t("analysis.entered"), value: (s) => Number(s.current?.entered ?? 0) },
          { id: "converted", header: t("analysis.converted"), value: (s) => Number(s.current?.converted ?? 0) },
          { id: "conversion", header: t("analysis.conversion"), value: (s) => formatPercent(s.current?.conversionPercent, loc) },
          { id: "dropped", header: t("analysis.dropped"), value: (s) => Number(s.current?.dropped ?? 0) },
          { id: "time", header: "⌀", value: (s) => formatDuration(s.current?.medianTimeInStage, loc) },
        ]}
      />
    </>
  );
}

function Pareto({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const q = useQuery({ queryKey: ["value", period], queryFn: () => unwrap(api.GET("/v1/dashboards/valueDistribution", { params: { query: period } })) });
  const currencies = q.data?.currencies ?? [];
  const cny = currencies.find((c) => c.currencyCode === "CNY") ?? currencies[0];
  const option = {
    tooltip: { trigger: "axis" },
    grid: { left: 60, right: 20, top: 20, bottom: 50 },
    xAxis: { type: "value", name: t("analysis.customerShare"), nameLocation: "middle", nameGap: 30, max: 100 },
    yAxis: { type: "value", name: t("analysis.revenueShare"), max: 100 },
    series: [
      { type: "line", showSymbol: false, data: [[0, 0], ...(cny?.pareto ?? []).map((p) => [p.customerPercent, p.revenuePercent])] },
      { type: "line", lineStyle: { type: "dashed" }, showSymbol: false, data: [[0, 0], [100, 100]] },
    ],
  };
  return (
    <>
      <h2>{t("analysis.pareto")}</h2>
      <ErrorBanner error={q.error} />
      {cny && (
        <p>
          {formatMoney(cny.revenue, cny.currencyCode, loc)} · {formatNumber(cny.customers, loc)} {t("analysis.customers")}
        </p>
      )}
      <Chart option={option} label={t("analysis.pareto")} />
      <DataTable<Schemas["v1TierShare"]>
        rows={cny?.tiers ?? []}
        csvName="abc-shares.csv"
        columns={[
          { id: "tier", header: t("analysis.tier"), value: (x) => x.tier ?? "" },
          { id: "customers", header: t("analysis.customers"), value: (x) => Number(x.customers ?? 0) },
          { id: "revenue", header: t("analysis.revenue"), value: (x) => formatMoney(x.revenue, cny?.currencyCode, loc) },
          { id: "share", header: t("analysis.revenueShare"), value: (x) => formatPercent(x.revenuePercent, loc) },
        ]}
      />
    </>
  );
}

function Rfm({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const q = useQuery({ queryKey: ["rfm", period], queryFn: () => unwrap(api.GET("/v1/dashboards/rfmGrid", { params: { query: period } })) });
  const grid = q.data;
  const cells = grid?.cells ?? [];
  const max = Math.max(1, ...cells.map((c) => Number(c.customers ?? 0)));
  const option = {
    tooltip: { position: "top" },
    grid: { left: 60, right: 20, top: 20, bottom: 70 },
    xAxis: { type: "category", name: "F", data: ["1", "2", "3", "4", "5"] },
    yAxis: { type: "category", name: "R", data: ["1", "2", "3", "4", "5"] },
    visualMap: { min: 0, max, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
    series: [{ type: "heatmap", data: cells.map((c) => [(c.frequency ?? 1) - 1, (c.recency ?? 1) - 1, Number(c.customers ?? 0)]), label: { show: true } }],
  };
  return (
    <>
      <h2>{t("analysis.rfm")}</h2>
      <ErrorBanner error={q.error} />
      <Chart option={option} label={t("analysis.rfm")} />
      <DataTable<Schemas["v1RfmCell"]>
        rows={cells}
        csvName="rfm-grid.csv"
        columns={[
          { id: "r", header: t("analysis.recency"), value: (c) => c.recency ?? 0 },
          { id: "f", header: t("analysis.frequency"), value: (c) => c.frequency ?? 0 },
          { id: "n", header: t("analysis.customers"), value: (c) => Number(c.customers ?? 0) },
          { id: "m", header: t("analysis.avgMonetary"), value: (c) => formatMoney(c.averageMonetary, grid?.currencyCode, loc) },
        ]}
      />
    </>
  );
}

function Cohorts({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const q = useQuery({ queryKey: ["cohorts", period], queryFn: () => unwrap(api.GET("/v1/dashboards/cohortRetention", { params: { query: period } })) });
  const cohorts = q.data?.cohorts ?? [];
  const width = Math.max(0, ...cohorts.map((c) => c.months?.length ?? 0));
  const option = {
    tooltip: { position: "top" },
    grid: { left: 80, right: 20, top: 20, bottom: 70 },
    xAxis: { type: "category", data: Array.from({ length: width }, (_, i) => t("analysis.month", { n: i })) },
    yAxis: { type: "category", data: cohorts.map((c) => c.month) },
    visualMap: { min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
    series: [{ type: "heatmap", data: cohorts.flatMap((c, y) => (c.months ?? []).map((m) => [m.offset ?? 0, y, Math.round((m.percent ?? 0) * 10) / 10])), label: { show: true } }],
  };
  return (
    <>
      <h2>{t("analysis.cohorts")}</h2>
      <ErrorBanner error={q.error} />
      <Chart option={option} label={t("analysis.cohorts")} />
      <DataTable<Schemas["v1Cohort"]>
        rows={cohorts}
        csvName="cohort-retention.csv"
        columns={[
          { id: "month", header: t("analysis.cohort"), value: (c) => c.month ?? "" },
          { id: "n", header: t("analysis.customers"), value: (c) => Number(c.customers ?? 0) },
          ...Array.from({ length: width }, (_, i) => ({
            id: `m${i}`,
            header: t("analysis.month", { n: i }),
            value: (c: Schemas["v1Cohort"]) => {
              const m = c.months?.find((x) => x.offset === i);
              return m ? formatPercent(m.percent, loc) : "";
            },
          })),
        ]}
      />
    </>
  );
}

function Kpis({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const q = useQuery({ queryKey: ["kpis", period], queryFn: () => unwrap(api.GET("/v1/dashboards/serviceKpis", { params: { query: { ...period, granularity: "MONTH" } } })) });
  const points = q.data?.points ?? [];
  const option = {
    tooltip: { trigger: "axis" },
    legend: {},
    grid: { left: 60, right: 60, top: 40, bottom: 40 },
    xAxis: { type: "category", data: points.map((p) => (p.bucket ?? "").slice(0, 10) + (p.queue ? ` ${idOf(p.queue)}` : "")) },
    yAxis: [{ type: "value" }, { type: "value", max: 100 }],
    series: [
      { name: t("analysis.opened"), type: "bar", data: points.map((p) => Number(p.opened ?? 0)) },
      { name: t("analysis.resolved"), type: "bar", data: points.map((p) => Number(p.resolved ?? 0)) },
      { name: t("analysis.slaCompliance"), type: "line", yAxisIndex: 1, data: points.map((p) => p.slaCompliancePercent ?? 0) },
    ],
  };
  return (
    <>
      <h2>{t("analysis.kpis")}</h2>
      <ErrorBanner error={q.error} />
      <Chart option={option} label={t("analysis.kpis")} />
      <DataTable<Schemas["v1ServiceKpiPoint"]>
        rows={points}
        csvName="service-kpis.csv"
        columns={[
          { id: "bucket", header: t("analysis.bucket"), value: (p) => (p.bucket ?? "").slice(0, 10) },
          { id: "queue", header: t("analysis.queue"), value: (p) => idOf(p.queue) },
          { id: "opened", header: t("analysis.opened"), value: (p) => Number(p.opened ?? 0) },
          { id: "resolved", header: t("analysis.resolved"), value: (p) => Number(p.resolved ?? 0) },
          { id: "sla", header: t("analysis.slaCompliance"), value: (p) => formatPercent(p.slaCompliancePercent, loc) },
          { id: "csat", header: t("analysis.csat"), value: (p) => formatNumber(p.csatAverage, loc, 2) },
          { id: "nps", header: t("analysis.nps"), value: (p) => formatNumber(p.nps, loc, 0) },
        ]}
      />
    </>
  );
}
