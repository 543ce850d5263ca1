import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, idOf, requestId, unwrap, type Customer } from "../api/client";
import { DataTable, type Column } from "../components/DataTable";
import { ErrorBanner } from "../components/ErrorBanner";
import { Pager } from "../components/Pager";
import { Badge } from "../components/Enum";
import { buildFilter, builderFields, combineFilters, type FilterClause } from "../lib/filter";
import { formatDate, formatNumber } from "../lib/format";
import { downloadCSV } from "../lib/csv";
import { parseStream } from "../lib/stream";
import { canWrite, useSession } from "../auth/session";
import { SavedViews, type SavedView } from "../components/SavedViews";

const ops: FilterClause["op"][] = ["=", "!=", ":", ">", ">=", "<", "<="];

export function Customers() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const [clauses, setClauses] = useState<FilterClause[]>([{ field: "lifecycle_stage", op: "=", value: "" }]);
  const [raw, setRaw] = useState("");
  const [applied, setApplied] = useState("");
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const [tokens, setTokens] = useState<string[]>([]);
  const [builderError, setBuilderError] = useState<unknown>(null);
  // The columns shown, by field name; null shows them all.
  const [shown, setShown] = useState<string[] | null>(null);
  const [orderBy, setOrderBy] = useState("");
  const pageToken = tokens[tokens.length - 1];

  const list = useQuery({
    queryKey: ["customers", applied, search, orderBy, pageToken],
    placeholderData: keepPreviousData,
    queryFn: async () => {
      if (search) {
        const r = await unwrap(api.GET("/v1/customers:search", { params: { query: { query: search, pageSize: 25, pageToken } } }));
        return { customers: r.customers ?? [], next: r.nextPageToken };
      }
      const r = await unwrap(api.GET("/v1/customers", { params: { query: { filter: applied || undefined, orderBy: orderBy || undefined, pageSize: 25, pageToken } } }));
      return { customers: r.customers ?? [], next: r.nextPageToken };
    },
  });

  function apply(e: React.FormEvent) {
    e.preventDefault();
    setBuilderError(null);
    try {
      setApplied(combineFilters(buildFilter(clauses), raw));
      setSearch("");
      setTokens([]);
    } catch (err) {
      setBuilderError(err);
    }
  }

  function pickView(v: SavedView | null) {
    setApplied(v?.filter ?? "");
    setRaw(v?.filter ?? "");
    setSearch(v?.query ?? "");
    setQuery(v?.query ?? "");
    setShown(v?.columns?.length ? v.columns : null);
    setOrderBy(v?.orderBy ?? "");
    setTokens([]);
  }

  const loc = i18n.language;
  // Column ids are the customers' field names, as saved views store them.
  const allColumns: Column<Customer>[] = [
    { id: "display_name", header: t("customers.displayName"), value: (c) => c.displayName ?? "", render: (c) => <Link to={`/customers/${idOf(c.name)}`}>{c.displayName}</Link> },
    { id: "company", header: t("customers.company"), value: (c) => c.company ?? "" },
    { id: "emails", header: t("customers.email"), value: (c) => c.emails?.[0] ?? "" },
    { id: "lifecycle_stage", header: t("customers.stage"), value: (c) => c.lifecycleStage ?? "", render: (c) => <Badge group="stage" value={c.lifecycleStage} /> },
    { id: "value_tier", header: t("customers.tier"), value: (c) => c.valueTier ?? "", render: (c) => <Badge group="tier" value={c.valueTier} /> },
    { id: "account_manager", header: t("customers.manager"), value: (c) => c.accountManager ?? "" },
    { id: "loyalty_points", header: t("customers.points"), value: (c) => formatNumber(c.loyaltyPoints, loc) },
    { id: "create_time", header: t("customers.created"), value: (c) => formatDate(c.createTime, loc) },
  ];
  const columns = shown ? shown.flatMap((id) => allColumns.filter((c) => c.id === id)) : allColumns;
  const toggle = (id: string) => {
    const ids = columns.map((c) => c.id);
    const next = ids.includes(id) ? ids.filter((x) => x !== id) : allColumns.map((c) => c.id).filter((x) => x === id || ids.includes(x));
    if (next.length) setShown(next);
  };

  return (
    <section>
      <div className="row">
        <h1>{t("customers.title")}</h1>
        <span className="spacer" />
        {canWrite(session) && <NewCustomer />}
      </div>
      <form
        role="search"
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(query.trim());
          setTokens([]);
        }}
      >
        <input type="search" aria-label={t("common.search")} placeholder={t("customers.searchPlaceholder")} value={query} onChange={(e) => setQuery(e.target.value)} className="grow" />
        <button type="submit">{t("common.search")}</button>
      </form>
      <SavedViews current={{ filter: applied, query: search, orderBy, columns: columns.map((c) => c.id) }} onPick={pickView} />
      <div className="row">
        <label>
          {t("views.order")}
          <select
            name="orderBy"
            value={orderBy}
            onChange={(e) => {
              setOrderBy(e.target.value);
              setTokens([]);
            }}
          >
            {["", "create_time", "display_name", "company", "loyalty_points desc", "update_time desc"].map((o) => (
              <option key={o} value={o}>
                {o ? t(`views.orders.${o.replace(" ", "_")}`) : t("views.orders.default")}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="row" data-testid="columns">
          <legend>{t("views.columns")}</legend>
          {allColumns.map((c) => (
            <label key={c.id}>
              <input type="checkbox" name={`column-${c.id}`} checked={columns.some((x) => x.id === c.id)} onChange={() => toggle(c.id)} />
              {c.header}
            </label>
          ))}
        </fieldset>
      </div>
      <form onSubmit={apply} className="card filter">
        <fieldset>
          <legend>{t("customers.builder")}</legend>
          {clauses.map((c, i) => (
            <div className="row" key={i}>
              <select aria-label={t("customers.field")} value={c.field} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, field: e.target.value } : x)))}>
                {Object.keys(builderFields).map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
              <select aria-label={t("customers.operator")} value={c.op} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, op: e.target.value as FilterClause["op"] } : x)))}>
                {ops.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
              <input aria-label={t("customers.value")} value={c.value} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
              <button type="button" className="secondary small" onClick={() => setClauses(clauses.filter((_, j) => j !== i))}>
                {t("common.remove")}
              </button>
            </div>
          ))}
          <button type="button" className="secondary small" onClick={() => setClauses([...clauses, { field: "tags", op: ":", value: "" }])}>
            {t("common.add")}
          </button>
        </fieldset>
        <label>
          {t("customers.filter")}
          <input name="filter" className="mono" value={raw} placeholder={t("customers.filterHint")} onChange={(e) => setRaw(e.target.value)} />
        </label>
        <div className="row">
          <button type="submit">{t("common.apply")}</button>
          {applied && <code data-testid="applied-filter">{applied}</code>}
        </div>
        <ErrorBanner error={builderError} />
      </form>
      {!search && <BulkActions filter={applied} columns={columns} />}
      <ErrorBanner error={list.error} />
      {/* Busy while a new filter's page loads: the previous page stays shown meanwhile. */}
      <div aria-busy={list.isFetching} data-testid="customer-list">
        {list.isPending ? <p>{t("common.loading")}</p> : <DataTable rows={list.data?.customers ?? []} columns={columns} csvName="customers.csv" rowKey={(c) => c.name ?? ""} testId="customers" />}
      </div>
      <Pager tokens={tokens} next={list.data?.next} onChange={setTokens} />
    </section>
  );
}

function NewCustomer() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ displayName: "", email: "", phone: "", company: "" });
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/customers", {
          params: { query: { requestId: requestId() } },
          body: {
            displayName: form.displayName,
            emails: form.email ? [form.email] : [],
            phones: form.phone ? [form.phone] : [],
            company: form.company,
          },
        }),
      ),
    onSuccess: (c) => navigate(`/customers/${idOf(c.name)}`),
  });
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {t("customers.newCustomer")}
      </button>
    );
  return (
    <form
      className="card"
      aria-label={t("customers.newCustomer")}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label>
        {t("customers.displayName")}
        <input name="displayName" required value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} autoFocus />
      </label>
      <label>
        {t("customers.email")}
        <input name="email" type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </label>
      <label>
        {t("customers.phone")}
        <input name="phone" value={form.phone} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
      </label>
      <label>
        {t("customers.company")}
        <input name="company" value={form.company} onChange={(e) => setForm({ ...form, company: e.target.value })} />
      </label>
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          {t("common.create")}
        </button>
        <button type="button" className="secondary" onClick={() => setOpen(false)}>
          {t("common.cancel")}
        </button>
      </div>
      <ErrorBanner error={create.error} />
    </form>
  );
}

/** Export and assignment of every customer the applied filter matches, not just the page. */
function BulkActions({ filter, columns }: { filter: string; columns: Column<Customer>[] }) {
  const { t } = useTranslation();
  const session = useSession();
  const qc = useQueryClient();
  const [manager, setManager] = useState("");
  const exportAll = useMutation({
    mutationFn: async () => {
      const { data, response } = await api.GET("/v1/customers:export", { params: { query: { filter: filter || undefined } }, parseAs: "text" });
      const customers = parseStream<{ customers?: Customer[] }>(data ?? "", response.status).flatMap((c) => c.customers ?? []);
      downloadCSV("customers-all.csv", columns.map((c) => c.header), customers.map((r) => columns.map((c) => c.value(r))));
      return customers.length;
    },
  });
  const assign = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/customers:batchAssignAccountManager", { body: { filter, accountManager: manager.trim(), requestId: requestId() } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["customers"] }),
  });
  const mayAssign = !!session && session.roles.some((r) => r === "admin" || r === "manager");
  return (
    <div className="row">
      <button type="button" className="secondary small" onClick={() => exportAll.mutate()} disabled={exportAll.isPending}>
        {t("customers.exportAll")}
      </button>
      {exportAll.data !== undefined && <span className="muted">{t("customers.exported", { count: exportAll.data })}</span>}
      {mayAssign && filter && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            assign.mutate();
          }}
        >
          <input name="assignTo" aria-label={t("customers.assignTo")} placeholder={t("customers.assignTo")} value={manager} onChange={(e) => setManager(e.target.value)} />
          <button type="submit" className="small" disabled={assign.isPending}>
            {t("customers.assignAll")}
          </button>
          {assign.data && <span data-testid="assigned">{t("customers.assigned", { count: Number(assign.data.assignedCount ?? 0) })}</span>}
        </form>
      )}
      <ErrorBanner error={exportAll.error ?? assign.error} />
    </div>
  );
}
