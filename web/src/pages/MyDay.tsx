import { useMemo, useState } from "react";
import { Link } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, idOf, requestId, unwrap, type FollowUp } from "../api/client";
import { agendaFilter, groupAgenda, postpone } from "../lib/agenda";
import { formatDateTime, formatMoney } from "../lib/format";
import { ErrorBanner } from "../components/ErrorBanner";
import { useEnumLabel } from "../components/Enum";
import { useSession } from "../auth/session";

/** The customer of a follow-up: "customers/{c}/followUps/{f}" → "{c}". */
function customerOf(f: FollowUp): string {
  return (f.name ?? "").split("/")[1] ?? "";
}

export function MyDay() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const subject = session?.subject ?? "";
  const now = useMemo(() => new Date(), []);
  const horizon = useMemo(() => new Date(now.getTime() + 14 * 86400_000), [now]);
  const agenda = useQuery({
    queryKey: ["agenda", subject],
    queryFn: () =>
      unwrap(api.GET("/v1/customers/{customer}/followUps", { params: { path: { customer: "-" }, query: { filter: agendaFilter(subject, horizon), pageSize: 200 } } })),
  });
  const followUps = agenda.data?.followUps ?? [];
  const ids = [...new Set(followUps.map(customerOf))];
  const names = useQuery({
    queryKey: ["customer-names", ids],
    enabled: ids.length > 0,
    queryFn: () => unwrap(api.GET("/v1/customers:batchGet", { params: { query: { names: ids.map((i) => `customers/${i}`) } } })),
  });
  const nameOf = new Map((names.data?.customers ?? []).map((c) => [idOf(c.name), c.displayName ?? ""]));
  const atRisk = useQuery({
    queryKey: ["at-risk", subject],
    queryFn: () => unwrap(api.GET("/v1/atRiskCustomers", { params: { query: { accountManager: subject, pageSize: 10 } } })),
    retry: false,
  });
  const groups = groupAgenda(followUps, new Date());
  return (
    <section>
      <h1>{t("myDay.title")}</h1>
      <ErrorBanner error={agenda.error} />
      {agenda.isPending && <p>{t("common.loading")}</p>}
      {(["overdue", "today", "upcoming"] as const).map((g) => (
        <section key={g} aria-labelledby={`${g}-h`} className="card" data-testid={`agenda-${g}`}>
          <h2 id={`${g}-h`}>
            {t(`myDay.${g}`)} <span className="count">{groups[g].length}</span>
          </h2>
          {groups[g].length === 0 ? (
            <p className="muted">{t("myDay.empty")}</p>
          ) : (
            <ul className="plain agenda">
              {groups[g].map((f) => (
                <AgendaItem key={f.name} followUp={f} customerName={nameOf.get(customerOf(f)) ?? customerOf(f)} overdue={g === "overdue"} />
              ))}
            </ul>
          )}
        </section>
      ))}
      <section className="card" aria-labelledby="care-h" data-testid="agenda-care">
        <h2 id="care-h">
          {t("myDay.care")} <span className="count">{groups.care.length}</span>
        </h2>
        {groups.care.length === 0 ? (
          <p className="muted">{t("myDay.empty")}</p>
        ) : (
          <ul className="plain agenda">
            {groups.care.map((f) => (
              <AgendaItem key={f.name} followUp={f} customerName={nameOf.get(customerOf(f)) ?? customerOf(f)} overdue={new Date(f.dueTime ?? 0) < now} />
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="risk-h">
        <h2 id="risk-h">{t("myDay.atRisk")}</h2>
        <ul className="plain">
          {(atRisk.data?.customers ?? []).map((c) => (
            <li key={c.customer}>
              <Link to={`/customers/${idOf(c.customer)}`}>{idOf(c.customer)}</Link> — {c.churnRisk?.score}/100 ·{" "}
              {formatMoney(c.valueAtRisk?.amount, c.valueAtRisk?.currencyCode, i18n.language)}
              <span className="muted"> {c.churnRisk?.reasons?.join("; ")}</span>
            </li>
          ))}
          {atRisk.data && (atRisk.data.customers ?? []).length === 0 && <li className="muted">{t("myDay.empty")}</li>}
        </ul>
      </section>
    </section>
  );
}

function AgendaItem({ followUp: f, customerName, overdue }: { followUp: FollowUp; customerName: string; overdue: boolean }) {
  const { t, i18n } = useTranslation();
  const label = useEnumLabel();
  const qc = useQueryClient();
  const [note, setNote] = useState("");
  const [logging, setLogging] = useState(false);
  const path = { customer: customerOf(f), followUp: idOf(f.name) };
  const done = () => {
    void qc.invalidateQueries({ queryKey: ["agenda"] });
    void qc.invalidateQueries({ queryKey: ["followUps", path.customer] });
    void qc.invalidateQueries({ queryKey: ["interactions", path.customer] });
  };
  const complete = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/customers/{customer}/followUps/{followUp}:complete", {
          params: { path },
          body: {
            etag: f.etag,
            requestId: requestId(),
            newInteraction: {
              channel: f.channel && f.channel !== "CHANNEL_UNSPECIFIED" ? f.channel : "CHANNEL_MEETING",
              kind: f.careRule ? "INTERACTION_KIND_CARE_GREETING" : "INTERACTION_KIND_FOLLOW_UP_VISIT",
              direction: "DIRECTION_OUTBOUND",
              occurTime: new Date().toISOString(),
              subject: f.purpose,
              summary: note || f.message,
            },
          },
        }),
      ),
    onSuccess: done,
  });
  const reschedule = useMutation({
    mutationFn: (days: number) =>
      unwrap(
        api.PATCH("/v1/customers/{customer}/followUps/{followUp}", {
          params: { path, query: { requestId: requestId() } },
          headers: { "If-Match": `"${f.etag}"` },
          body: { dueTime: postpone(f.dueTime, days, new Date()).toISOString() },
        }),
      ),
    onSuccess: done,
  });
  return (
    <li className={overdue ? "overdue" : undefined} data-testid="agenda-item">
      <div className="row">
        <time dateTime={f.dueTime}>{formatDateTime(f.dueTime, i18n.language)}</time>
        <Link to={`/customers/${customerOf(f)}`}>{customerName}</Link>
        <span>{f.purpose}</span>
        <span className="badge">{label("channel", f.channel)}</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => setLogging(!logging)} aria-expanded={logging}>
          {t(f.careRule ? "myDay.greeted" : "myDay.complete")}
        </button>
        <button type="button" className="secondary small" onClick={() => reschedule.mutate(1)} disabled={reschedule.isPending}>
          {t("myDay.tomorrow")}
        </button>
        <button type="button" className="secondary small" onClick={() => reschedule.mutate(7)} disabled={reschedule.isPending}>
          {t("myDay.nextWeek")}
        </button>
      </div>
      {f.message && <blockquote className="greeting">{f.message}</blockquote>}
      {logging && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            complete.mutate();
          }}
        >
          <input name="note" className="grow" aria-label={t("myDay.visitNote")} placeholder={t("myDay.visitNote")} value={note} onChange={(e) => setNote(e.target.value)} autoFocus />
          <button type="submit" className="small" disabled={complete.isPending}>
            {t("common.save")}
          </button>
        </form>
      )}
      <ErrorBanner error={complete.error ?? reschedule.error} />
    </li>
  );
}
