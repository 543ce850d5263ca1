import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, ApiError, idOf, requestId, unwrap, type Customer } from "../api/client";
import { DataTable } from "../components/DataTable";
import { ErrorBanner } from "../components/ErrorBanner";
import { Badge, useEnumLabel } from "../components/Enum";
import { formatDate, formatDateTime, formatMoney, formatNumber } from "../lib/format";
import { canWrite, isManager, useSession } from "../auth/session";
import { diffRows, otherMembers } from "../lib/merge";

const stages = ["PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"];

export function Customer360() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation();
  const loc = i18n.language;
  const customer = useQuery({
    queryKey: ["customer", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}", { params: { path: { customer: id } } })),
  });
  const c = customer.data;
  const session = useSession();
  return (
    <section className="c360">
      <p>
        <Link to="/customers">← {t("nav.customers")}</Link>
      </p>
      <ErrorBanner error={customer.error} />
      {c && (
        <>
          <div className="row">
            <h1 data-testid="customer-name">{c.displayName}</h1>
            <Badge group="stage" value={c.lifecycleStage} />
            <Badge group="tier" value={c.valueTier} />
            <span className="muted">
              {t("customers.points")}: {formatNumber(c.loyaltyPoints, loc)}
            </span>
          </div>
          <div className="grid">
            <Profile customer={c} />
            <Insights id={id} />
            <Stage customer={c} />
            <Segments id={id} />
          </div>
          {c.name !== `customers/${id}` && (
            <p className="notice" data-testid="merged-into">
              {t("merge.mergedInto", { id, into: idOf(c.name) })}
            </p>
          )}
          {isManager(session) && <Duplicates customer={c} />}
          <FollowUps id={id} />
          <Timeline id={id} />
          <Tickets name={c.name ?? ""} />
          <Ledger id={id} />
        </>
      )}
    </section>
  );
}

function Profile({ customer }: { customer: Customer }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const qc = useQueryClient();
  const id = idOf(customer.name);
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState({ displayName: "", company: "", title: "", email: "", phone: "" });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/customers/{customer}", {
          params: { path: { customer: id } },
          headers: { "If-Match": `"${customer.etag}"` },
          // If-Match carries the etag read with the form: a change made by
          // someone else in between is refused (409), never overwritten.
          // (An etag in the body would count as a field to update.)
          body: {
            displayName: form.displayName,
            company: form.company,
            title: form.title,
            emails: form.email ? [form.email, ...(customer.emails ?? []).slice(1)] : [],
            phones: form.phone ? [form.phone, ...(customer.phones ?? []).slice(1)] : [],
          },
        }),
      ),
    onSuccess: (updated) => {
      qc.setQueryData(["customer", id], updated);
      setEditing(false);
    },
  });
  const rows: [string, React.ReactNode][] = [
    [t("customers.company"), customer.company],
    [t("customers.email"), customer.emails?.join(", ")],
    [t("customers.phone"), customer.phones?.join(", ")],
    [t("customer.address"), customer.address?.city],
    [t("customers.manager"), customer.accountManager],
    [t("customers.tags"), customer.tags?.join(", ")],
    [t("customer.membership"), customer.membershipTier?.replace("MEMBERSHIP_TIER_", "")],
    [t("customers.created"), formatDateTime(customer.createTime, i18n.language)],
  ];
  return (
    <article className="card" aria-labelledby="profile-h">
      <div className="row">
        <h2 id="profile-h">{t("customer.profile")}</h2>
        <span className="spacer" />
        {canWrite(session) && !editing && (
          <button
            type="button"
            className="secondary small"
            onClick={() => {
              setForm({
                displayName: customer.displayName ?? "",
                company: customer.company ?? "",
                title: customer.title ?? "",
                email: customer.emails?.[0] ?? "",
                phone: customer.phones?.[0] ?? "",
              });
              save.reset();
              setEditing(true);
            }}
          >
            {t("customer.edit")}
          </button>
        )}
      </div>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          {(["displayName", "company", "title", "email", "phone"] as const).map((f) => (
            <label key={f}>
              {t(f === "title" ? "customer.jobTitle" : `customers.${f}`)}
              <input name={f} value={form[f]} onChange={(e) => setForm({ ...form, [f]: e.target.value })} />
            </label>
          ))}
          <div className="row">
            <button type="submit" disabled={save.isPending}>
              {t("common.save")}
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              {t("common.cancel")}
            </button>
            {save.error instanceof ApiError && save.error.conflict && (
              <button type="button" className="secondary" onClick={() => void qc.invalidateQueries({ queryKey: ["customer", id] }).then(() => setEditing(false))}>
                {t("common.reload")}
              </button>
            )}
          </div>
          <ErrorBanner error={save.error} />
        </form>
      ) : (
        <dl>
          {rows.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v || "—"}</dd>
            </div>
          ))}
        </dl>
      )}
    </article>
  );
}

function Stage({ customer }: { customer: Customer }) {
  const { t, i18n } = useTranslation();
  const label = useEnumLabel();
  const session = useSession();
  const qc = useQueryClient();
  const id = idOf(customer.name);
  const history = useQuery({
    queryKey: ["stages", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/lifecycleTransitions", { params: { path: { customer: id } } })),
  });
  const [target, setTarget] = useState("");
  const move = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/customers/{customer}:transitionLifecycleStage", {
          params: { path: { customer: id } },
          body: { stage: `LIFECYCLE_STAGE_${target}` as never, reason: "console", etag: customer.etag, requestId: requestId() },
        }),
      ),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["customer", id] });
      void qc.invalidateQueries({ queryKey: ["stages", id] });
    },
  });
  return (
    <article className="card" aria-labelledby="stage-h">
      <h2 id="stage-h">{t("customer.stage")}</h2>
      {canWrite(session) && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (target) move.mutate();
          }}
        >
          <select aria-label={t("customer.transition")} value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">{t("customer.transition")}…</option>
            {stages.map((s) => (
              <option key={s} value={s}>
                {t(`enums.stage.${s}`)}
              </option>
            ))}
          </select>
          <button type="submit" className="small">
            {t("common.apply")}
          </button>
        </form>
      )}
      <ErrorBanner error={move.error} />
      <h3>{t("customer.stageHistory")}</h3>
      <ol className="plain">
        {(history.data?.lifecycleTransitions ?? []).map((h) => (
          <li key={h.name}>
            {formatDate(h.createTime, i18n.language)}: {label("stage", h.fromStage)} → {label("stage", h.toStage)} <span className="muted">{h.reason}</span>
          </li>
        ))}
      </ol>
    </article>
  );
}

function Insights({ id }: { id: string }) {
  const { t } = useTranslation();
  const insights = useQuery({
    queryKey: ["insights", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/insights", { params: { path: { customer: id } } })),
    retry: false,
  });
  const i = insights.data;
  return (
    <article className="card" aria-labelledby="insights-h">
      <h2 id="insights-h">{t("customer.insights")}</h2>
      {!i ? (
        <p className="muted">{insights.isPending ? t("common.loading") : t("customer.noInsights")}</p>
      ) : (
        <>
          <dl>
            <div>
              <dt>{t("customer.rfm")}</dt>
              <dd data-testid="rfm">
                R{i.rfm?.recency} F{i.rfm?.frequency} M{i.rfm?.monetary} <strong>{i.rfm?.label}</strong>
              </dd>
            </div>
            <div>
              <dt>{t("customer.tier")}</dt>
              <dd>{i.valueTier?.value}</dd>
            </div>
            <div>
              <dt>{t("customer.churn")}</dt>
              <dd>
                <meter min={0} max={100} low={30} high={60} optimum={0} value={i.churnRisk?.score ?? 0} /> {i.churnRisk?.score ?? 0}/100
              </dd>
            </div>
          </dl>
          {(i.churnRisk?.reasons?.length ?? 0) > 0 && (
            <>
              <h3>{t("customer.reasons")}</h3>
              <ul>
                {i.churnRisk?.reasons?.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </article>
  );
}

function Segments({ id }: { id: string }) {
  const { t } = useTranslation();
  const segs = useQuery({
    queryKey: ["segments-of", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/segments", { params: { path: { customer: id } } })),
    retry: false,
  });
  return (
    <article className="card" aria-labelledby="segments-h">
      <h2 id="segments-h">{t("customer.segments")}</h2>
      <ul className="tags">
        {(segs.data?.segments ?? []).map((s) => (
          <li key={s} className="badge">
            {idOf(s)}
          </li>
        ))}
      </ul>
      {segs.data && (segs.data.segments ?? []).length === 0 && <p className="muted">{t("common.none")}</p>}
    </article>
  );
}

function FollowUps({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const label = useEnumLabel();
  const session = useSession();
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ["followUps", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/followUps", { params: { path: { customer: id }, query: { pageSize: 50 } } })),
  });
  const [purpose, setPurpose] = useState("");
  const [due, setDue] = useState("");
  const plan = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/customers/{customer}/followUps", {
          params: { path: { customer: id }, query: { requestId: requestId() } },
          body: { purpose, dueTime: new Date(due).toISOString(), channel: "CHANNEL_MEETING" },
        }),
      ),
    onSuccess: () => {
      setPurpose("");
      void qc.invalidateQueries({ queryKey: ["followUps", id] });
      void qc.invalidateQueries({ queryKey: ["agenda"] });
    },
  });
  return (
    <article className="card" aria-labelledby="fu-h">
      <h2 id="fu-h">{t("customer.followUps")}</h2>
      {canWrite(session) && (
        <form
          className="row"
          aria-label={t("customer.planFollowUp")}
          onSubmit={(e) => {
            e.preventDefault();
            plan.mutate();
          }}
        >
          <input name="purpose" aria-label={t("customer.purpose")} placeholder={t("customer.purpose")} value={purpose} onChange={(e) => setPurpose(e.target.value)} required />
          <input name="due" type="datetime-local" aria-label={t("customer.due")} value={due} onChange={(e) => setDue(e.target.value)} required />
          <button type="submit" className="small">
            {t("customer.planFollowUp")}
          </button>
        </form>
      )}
      <ErrorBanner error={plan.error} />
      <DataTable
        rows={list.data?.followUps ?? []}
        rowKey={(f) => f.name ?? ""}
        testId="followups"
        columns={[
          { id: "due", header: t("customer.due"), value: (f) => formatDateTime(f.dueTime, i18n.language) },
          { id: "purpose", header: t("customer.purpose"), value: (f) => f.purpose ?? "" },
          { id: "channel", header: t("customer.channel"), value: (f) => label("channel", f.channel) },
          { id: "state", header: t("desk.status"), value: (f) => label("followUpState", f.state) },
          { id: "assignee", header: t("desk.assignee"), value: (f) => f.assignee ?? "" },
        ]}
      />
    </article>
  );
}

function Timeline({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const label = useEnumLabel();
  const list = useQuery({
    queryKey: ["interactions", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/interactions", { params: { path: { customer: id }, query: { pageSize: 50 } } })),
  });
  const items = [...(list.data?.interactions ?? [])].sort((a, b) => (b.occurTime ?? "").localeCompare(a.occurTime ?? ""));
  return (
    <article className="card" aria-labelledby="tl-h">
      <h2 id="tl-h">{t("customer.timeline")}</h2>
      <ol className="timeline" data-testid="timeline">
        {items.map((x) => (
          <li key={x.name}>
            <time dateTime={x.occurTime}>{formatDateTime(x.occurTime, i18n.language)}</time> <span className="badge">{label("channel", x.channel)}</span>{" "}
            <strong>{x.subject || x.kind?.replace("INTERACTION_KIND_", "")}</strong> {x.summary}
            {x.amount?.amount && Number(x.amount.amount) !== 0 && <span> · {formatMoney(x.amount.amount, x.amount.currencyCode, i18n.language)}</span>}
            <span className="muted"> · {x.agent}</span>
          </li>
        ))}
        {list.data && items.length === 0 && <li className="muted">{t("common.none")}</li>}
      </ol>
    </article>
  );
}

function Tickets({ name }: { name: string }) {
  const { t, i18n } = useTranslation();
  const list = useQuery({
    queryKey: ["tickets-of", name],
    queryFn: () => unwrap(api.GET("/v1/tickets", { params: { query: { filter: `customer = "${name}"`, pageSize: 50 } } })),
  });
  return (
    <article className="card" aria-labelledby="tk-h">
      <h2 id="tk-h">{t("customer.tickets")}</h2>
      <DataTable
        rows={list.data?.tickets ?? []}
        rowKey={(x) => x.name ?? ""}
        columns={[
          { id: "subject", header: t("desk.subject"), value: (x) => x.subject ?? "", render: (x) => <Link to={`/desk/tickets/${idOf(x.name)}`}>{x.subject}</Link> },
          { id: "status", header: t("desk.status"), value: (x) => x.status ?? "", render: (x) => <Badge group="status" value={x.status} /> },
          { id: "priority", header: t("desk.priority"), value: (x) => x.priority ?? "", render: (x) => <Badge group="priority" value={x.priority} /> },
          { id: "created", header: t("desk.created"), value: (x) => formatDateTime(x.createTime, i18n.language) },
        ]}
      />
    </article>
  );
}

function Ledger({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const list = useQuery({
    queryKey: ["ledger", id],
    queryFn: () => unwrap(api.GET("/v1/customers/{customer}/pointsLedger", { params: { path: { customer: id } } })),
  });
  return (
    <article className="card" aria-labelledby="ledger-h">
      <h2 id="ledger-h">{t("customer.ledger")}</h2>
      <DataTable
        rows={list.data?.entries ?? []}
        rowKey={(x) => x.name ?? ""}
        csvName={`points-${id}.csv`}
        columns={[
          { id: "time", header: t("customer.occurred"), value: (x) => formatDateTime(x.createTime, i18n.language) },
          { id: "delta", header: t("customer.delta"), value: (x) => formatNumber(x.delta, i18n.language) },
          { id: "balance", header: t("customer.balance"), value: (x) => formatNumber(x.balance, i18n.language) },
          { id: "reason", header: t("customer.reason"), value: (x) => x.reason ?? "" },
          { id: "actor", header: t("customer.agent"), value: (x) => x.actor ?? "" },
        ]}
      />
    </article>
  );
}

/**
 * Managers' duplicates panel: the customers FindDuplicates groups with this
 * one, a dry run of merging the chosen ones in (the diff shown field by
 * field, nothing changed), the merge itself, and unmerging customers merged
 * in before.
 */
function Duplicates({ customer }: { customer: Customer }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const name = customer.name ?? "";
  const dups = useQuery({
    queryKey: ["duplicates", name],
    queryFn: () => unwrap(api.GET("/v1/customers:findDuplicates", { params: { query: { customer: name, pageSize: 50 } } })),
  });
  const others = otherMembers(dups.data?.groups ?? [], name);
  const names = useQuery({
    queryKey: ["customer-names", others],
    enabled: others.length > 0,
    queryFn: () => unwrap(api.GET("/v1/customers:batchGet", { params: { query: { names: others } } })),
  });
  const nameOf = new Map((names.data?.customers ?? []).map((x) => [x.name ?? "", x.displayName ?? ""]));
  const [chosen, setChosen] = useState<string[]>([]);
  const merge = (dryRun: boolean) =>
    unwrap(api.POST("/v1/customers:merge", { body: { survivor: name, merged: chosen, dryRun, requestId: dryRun ? undefined : requestId() } }));
  const preview = useMutation({ mutationFn: () => merge(true) });
  const refresh = () => {
    for (const k of ["customer", "duplicates", "customers"]) void qc.invalidateQueries({ queryKey: [k] });
  };
  const apply = useMutation({
    mutationFn: () => merge(false),
    onSuccess: () => {
      setChosen([]);
      preview.reset();
      refresh();
    },
  });
  const unmerge = useMutation({
    mutationFn: (old: string) => unwrap(api.POST("/v1/customers/{customer}:unmerge", { params: { path: { customer: idOf(old) } }, body: { requestId: requestId() } })),
    onSuccess: (r) => {
      refresh();
      void navigate(`/customers/${idOf(r.customer?.name)}`);
    },
  });
  const toggle = (c: string) => {
    setChosen(chosen.includes(c) ? chosen.filter((x) => x !== c) : [...chosen, c]);
    preview.reset();
  };
  const diff = preview.data ? diffRows(preview.data.fields ?? []) : [];
  return (
    <article className="card" aria-labelledby="dup-h" data-testid="duplicates">
      <h2 id="dup-h">{t("merge.duplicates")}</h2>
      <ErrorBanner error={dups.error} />
      {dups.data && others.length === 0 && <p className="muted">{t("merge.none")}</p>}
      {others.length > 0 && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen.length) preview.mutate();
          }}
        >
          <ul className="plain">
            {(dups.data?.groups ?? []).map((g) => (
              <li key={`${g.reason}-${g.key}`} className="row">
                <span className="badge">{t(`merge.reason.${(g.reason ?? "").replace("REASON_", "")}`)}</span> <code>{g.key}</code>{" "}
                {(g.customers ?? [])
                  .filter((c) => c !== name)
                  .map((c) => (
                    <label key={c}>
                      <input type="checkbox" name="merge" value={c} checked={chosen.includes(c)} onChange={() => toggle(c)} /> <Link to={`/customers/${idOf(c)}`}>{nameOf.get(c) || idOf(c)}</Link>
                    </label>
                  ))}
              </li>
            ))}
          </ul>
          <button type="submit" className="secondary small" disabled={!chosen.length || preview.isPending}>
            {t("merge.preview")}
          </button>
        </form>
      )}
      <ErrorBanner error={preview.error} />
      {preview.data && (
        <>
          <h3>{t("merge.diff")}</h3>
          <table data-testid="merge-diff">
            <thead>
              <tr>
                <th>{t("merge.field")}</th>
                <th>{t("merge.before")}</th>
                <th>{t("merge.after")}</th>
                <th>{t("merge.source")}</th>
              </tr>
            </thead>
            <tbody>
              {diff.map((r) => (
                <tr key={r.field} className={r.changed ? "changed" : undefined}>
                  <td>
                    <code>{r.field}</code>
                  </td>
                  <td>{r.before || "—"}</td>
                  <td>{r.after || "—"}</td>
                  <td>{r.source ? nameOf.get(r.source) || idOf(r.source) : t("merge.combined")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" disabled={apply.isPending} onClick={() => apply.mutate()}>
            {t("merge.apply", { count: chosen.length })}
          </button>
        </>
      )}
      <ErrorBanner error={apply.error} />
      {(customer.mergedCustomers ?? []).length > 0 && (
        <>
          <h3>{t("merge.merged")}</h3>
          <ul className="plain" data-testid="merged-customers">
            {(customer.mergedCustomers ?? []).map((m) => (
              <li key={m}>
                <code>{idOf(m)}</code>{" "}
                <button type="button" className="secondary small" disabled={unmerge.isPending} onClick={() => unmerge.mutate(m)}>
                  {t("merge.unmerge")}
                </button>
              </li>
            ))}
          </ul>
          <ErrorBanner error={unmerge.error} />
        </>
      )}
    </article>
  );
}
