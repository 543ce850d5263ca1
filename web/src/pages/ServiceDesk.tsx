import { useState } from "react";
import { Link, useParams } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, idOf, requestId, unwrap, type Schemas, type Ticket } from "../api/client";
import { DataTable } from "../components/DataTable";
import { ErrorBanner } from "../components/ErrorBanner";
import { Badge } from "../components/Enum";
import { Pager } from "../components/Pager";
import { formatClock, formatDateTime, parseDuration } from "../lib/format";
import { slaView } from "../lib/sla";
import { surveyView } from "../lib/survey";
import { useNow } from "../lib/useNow";
import { quote } from "../lib/filter";

export function SlaBadge({ clock }: { clock: Schemas["v1SlaClock"] | undefined }) {
  const { t } = useTranslation();
  const v = slaView(clock, useNow());
  if (v.kind === "none") return <span className="muted">—</span>;
  if (v.kind === "running") return <span className={`sla ${v.seconds < 3600 ? "warn" : "ok"}`}>{formatClock(v.seconds)}</span>;
  return <span className={`sla ${v.kind}`}>{t(`desk.${v.kind}`)}</span>;
}

/** A survey answer on its own scale: CSAT 1–5, NPS 0–10. */
function SurveyScore({ result }: { result: Schemas["v1SurveyResult"] }) {
  const { t } = useTranslation();
  const v = surveyView(result);
  return (
    <span className={`sla ${v.tone}`} title={t(`desk.surveyLabel.${v.label}`)}>
      {v.score}/{v.max}
    </span>
  );
}

export function ServiceDesk() {
  const { t, i18n } = useTranslation();
  const [queue, setQueue] = useState("");
  const [openOnly, setOpenOnly] = useState(true);
  const [tokens, setTokens] = useState<string[]>([]);
  const queues = useQuery({ queryKey: ["queues"], queryFn: () => unwrap(api.GET("/v1/queues", { params: { query: { pageSize: 100 } } })) });
  const filter = [queue && `queue = ${quote(queue)}`, openOnly && "status != RESOLVED AND status != CLOSED"].filter(Boolean).join(" AND ");
  const pageToken = tokens[tokens.length - 1];
  const tickets = useQuery({
    queryKey: ["tickets", filter, pageToken],
    placeholderData: keepPreviousData,
    refetchInterval: 30_000, // new tickets in the queue without reloading
    queryFn: () => unwrap(api.GET("/v1/tickets", { params: { query: { filter: filter || undefined, orderBy: "resolution.due_time", pageSize: 25, pageToken } } })),
  });
  return (
    <section>
      <h1>{t("desk.title")}</h1>
      <div className="row">
        <label>
          {t("desk.queues")}{" "}
          <select
            value={queue}
            onChange={(e) => {
              setQueue(e.target.value);
              setTokens([]);
            }}
          >
            <option value="">{t("desk.allQueues")}</option>
            {(queues.data?.queues ?? []).map((q) => (
              <option key={q.name} value={q.name}>
                {q.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={openOnly} onChange={(e) => setOpenOnly(e.target.checked)} /> {t("desk.openOnly")}
        </label>
      </div>
      <ErrorBanner error={tickets.error} />
      <DataTable<Ticket>
        rows={tickets.data?.tickets ?? []}
        rowKey={(x) => x.name ?? ""}
        testId="tickets"
        csvName="tickets.csv"
        columns={[
          { id: "subject", header: t("desk.subject"), value: (x) => x.subject ?? "", render: (x) => <Link to={`/desk/tickets/${idOf(x.name)}`}>{x.subject}</Link> },
          { id: "status", header: t("desk.status"), value: (x) => x.status ?? "", render: (x) => <Badge group="status" value={x.status} /> },
          { id: "priority", header: t("desk.priority"), value: (x) => x.priority ?? "", render: (x) => <Badge group="priority" value={x.priority} /> },
          { id: "assignee", header: t("desk.assignee"), value: (x) => x.assignee ?? "" },
          { id: "sla", header: t("desk.sla"), value: (x) => x.resolution?.dueTime ?? "", render: (x) => <SlaBadge clock={x.resolution} /> },
          { id: "survey", header: t("desk.survey"), value: (x) => (x.surveyResult ? String(x.surveyResult.score ?? 0) : ""), render: (x) => (x.surveyResult ? <SurveyScore result={x.surveyResult} /> : <span className="muted">—</span>) },
          { id: "created", header: t("desk.created"), value: (x) => formatDateTime(x.createTime, i18n.language) },
        ]}
      />
      <Pager tokens={tokens} next={tickets.data?.nextPageToken} onChange={setTokens} />
    </section>
  );
}

export function TicketDetail() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const path = { ticket: id };
  const ticket = useQuery({ queryKey: ["ticket", id], queryFn: () => unwrap(api.GET("/v1/tickets/{ticket}", { params: { path } })) });
  const sla = useQuery({ queryKey: ["sla", id], queryFn: () => unwrap(api.GET("/v1/tickets/{ticket}/slaStatus", { params: { path } })), retry: false });
  const comments = useQuery({ queryKey: ["comments", id], queryFn: () => unwrap(api.GET("/v1/tickets/{ticket}/comments", { params: { path, query: { pageSize: 100 } } })) });
  const changes = useQuery({ queryKey: ["changes", id], queryFn: () => unwrap(api.GET("/v1/tickets/{ticket}/changes", { params: { path } })) });
  const refresh = () => {
    for (const k of ["ticket", "sla", "comments", "changes"]) void qc.invalidateQueries({ queryKey: [k, id] });
    void qc.invalidateQueries({ queryKey: ["tickets"] });
  };
  const [body, setBody] = useState("");
  const [visibility, setVisibility] = useState<"VISIBILITY_INTERNAL" | "VISIBILITY_PUBLIC">("VISIBILITY_INTERNAL");
  const comment = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/tickets/{ticket}/comments", { params: { path, query: { requestId: requestId() } }, body: { body, visibility } })),
    onSuccess: () => {
      setBody("");
      refresh();
    },
  });
  const [status, setStatus] = useState<string>("");
  const [rootCause, setRootCause] = useState("");
  const [summary, setSummary] = useState("");
  const transition = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/tickets/{ticket}:transition", {
          params: { path },
          body: { status: status as never, rootCause, resolutionSummary: summary, etag: ticket.data?.etag, requestId: requestId() },
        }),
      ),
    onSuccess: () => {
      setStatus("");
      refresh();
    },
  });
  const tk = ticket.data;
  const remaining = (s: Schemas["v1TargetStatus"] | undefined) => (s?.remaining ? formatClock(parseDuration(s.remaining)) : "—");
  return (
    <section>
      <p>
        <Link to="/desk">← {t("desk.title")}</Link>
      </p>
      <ErrorBanner error={ticket.error} />
      {tk && (
        <>
          <div className="row">
            <h1 data-testid="ticket-subject">{tk.subject}</h1>
            <span data-testid="ticket-status">
              <Badge group="status" value={tk.status} />
            </span>
            <Badge group="priority" value={tk.priority} />
          </div>
          <p>
            <Link to={`/customers/${idOf(tk.customer)}`}>{idOf(tk.customer)}</Link> · {tk.type?.replace("TICKET_TYPE_", "")} · {tk.assignee || "—"}
          </p>
          <p>{tk.description}</p>
          <div className="grid">
            <article className="card">
              <h2>SLA</h2>
              <dl>
                <div>
                  <dt>{t("desk.firstResponse")}</dt>
                  <dd>
                    <SlaBadge clock={tk.firstResponse} /> <span className="muted">{remaining(sla.data?.firstResponse)}</span>
                  </dd>
                </div>
                <div>
                  <dt>{t("desk.sla")}</dt>
                  <dd>
                    <SlaBadge clock={tk.resolution} /> <span className="muted">{remaining(sla.data?.resolution)}</span>
                  </dd>
                </div>
              </dl>
            </article>
            <article className="card">
              <h2>{t("desk.transition")}</h2>
              {(tk.nextStatuses ?? []).length === 0 ? (
                <p className="muted" data-testid="no-moves">
                  {t("desk.noMoves")}
                </p>
              ) : (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  if (status) transition.mutate();
                }}
              >
                <select name="status" aria-label={t("desk.transition")} value={status} onChange={(e) => setStatus(e.target.value)}>
                  <option value="">…</option>
                  {(tk.nextStatuses ?? []).map((s) => (
                    <option key={s} value={s}>
                      {t(`enums.status.${s.replace("STATUS_", "")}`)}
                    </option>
                  ))}
                </select>
                {status === "STATUS_RESOLVED" && (
                  <>
                    <label>
                      {t("desk.rootCause")}
                      <input name="rootCause" value={rootCause} onChange={(e) => setRootCause(e.target.value)} />
                    </label>
                    <label>
                      {t("desk.resolutionSummary")}
                      <textarea name="resolutionSummary" value={summary} onChange={(e) => setSummary(e.target.value)} />
                    </label>
                  </>
                )}
                <button type="submit" disabled={!status || transition.isPending}>
                  {t("common.apply")}
                </button>
              </form>
              )}
              <ErrorBanner error={transition.error} />
            </article>
            <article className="card" aria-labelledby="survey-h">
              <h2 id="survey-h">{t("desk.survey")}</h2>
              {tk.surveyResult ? (
                <dl data-testid="survey-result">
                  <div>
                    <dt>{tk.surveyResult.kind?.replace("SURVEY_KIND_", "")}</dt>
                    <dd>
                      <SurveyScore result={tk.surveyResult} />
                    </dd>
                  </div>
                  <div>
                    <dt>{t("desk.surveyComment")}</dt>
                    <dd>{tk.surveyResult.comment || "—"}</dd>
                  </div>
                  <div>
                    <dt>{t("desk.answered")}</dt>
                    <dd>{formatDateTime(tk.surveyResult.answerTime, i18n.language)}</dd>
                  </div>
                </dl>
              ) : (
                <p className="muted">{t("desk.noSurvey")}</p>
              )}
            </article>
          </div>
          <article className="card" aria-labelledby="comments-h">
            <h2 id="comments-h">{t("desk.comments")}</h2>
            <ol className="plain comments">
              {(comments.data?.comments ?? []).map((c) => (
                <li key={c.name} className={c.visibility === "VISIBILITY_INTERNAL" ? "internal" : "public"}>
                  <span className="badge">{c.visibility === "VISIBILITY_INTERNAL" ? t("desk.internal") : t("desk.public")}</span> <strong>{c.author}</strong>{" "}
                  <time className="muted">{formatDateTime(c.createTime, i18n.language)}</time>
                  <p>{c.body}</p>
                </li>
              ))}
            </ol>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                comment.mutate();
              }}
            >
              <fieldset className="row">
                <legend className="sr-only">{t("desk.visibility")}</legend>
                <label>
                  <input type="radio" name="visibility" checked={visibility === "VISIBILITY_INTERNAL"} onChange={() => setVisibility("VISIBILITY_INTERNAL")} /> {t("desk.internal")}
                </label>
                <label>
                  <input type="radio" name="visibility" checked={visibility === "VISIBILITY_PUBLIC"} onChange={() => setVisibility("VISIBILITY_PUBLIC")} /> {t("desk.public")}
                </label>
              </fieldset>
              <textarea name="comment" aria-label={t("desk.addComment")} value={body} onChange={(e) => setBody(e.target.value)} required className={visibility === "VISIBILITY_INTERNAL" ? "internal" : "public"} />
              <button type="submit" disabled={comment.isPending}>
                {t("desk.addComment")}
              </button>
            </form>
            <ErrorBanner error={comment.error} />
          </article>
          <article className="card">
            <h2>{t("desk.history")}</h2>
            <ol className="plain">
              {(changes.data?.changes ?? []).map((c, i) => (
                <li key={i}>
                  {formatDateTime(c.time, i18n.language)} <code>{c.field}</code>: {c.from} → {c.to} <span className="muted">{c.actor}</span>
                </li>
              ))}
            </ol>
          </article>
        </>
      )}
    </section>
  );
}
