// The caller's saved views of the customer list (GET/POST/PATCH/DELETE
// /v1/savedViews): save what the list shows now, pick a view to show it
// again, rename or delete the picked one. Views are the server's, per user,
// so they follow the user to any browser.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, idOf, requestId, unwrap, type Schemas } from "../api/client";
import { ErrorBanner } from "./ErrorBanner";

export type SavedView = Schemas["v1SavedView"];

/** What a view keeps of the list. */
export interface ListState {
  filter: string;
  query: string;
  orderBy: string;
  columns: string[];
}

export function SavedViews({ current, onPick }: { current: ListState; onPick: (v: SavedView | null) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [picked, setPicked] = useState<SavedView | null>(null);
  const [name, setName] = useState("");
  const [rename, setRename] = useState("");
  const views = useQuery({
    queryKey: ["savedViews"],
    queryFn: async () => (await unwrap(api.GET("/v1/savedViews", { params: { query: { pageSize: 200 } } }))).savedViews ?? [],
  });
  const done = (v: SavedView | null) => {
    setPicked(v);
    setRename(v?.displayName ?? "");
    void qc.invalidateQueries({ queryKey: ["savedViews"] });
  };
  const save = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/v1/savedViews", { params: { query: { requestId: requestId() } }, body: { displayName: name.trim(), ...current } })),
    onSuccess: (v) => {
      setName("");
      done(v);
    },
  });
  // If-Match: a view changed in another tab since it was read is refused
  // (409), not overwritten.
  const change = useMutation({
    mutationFn: (v: SavedView) =>
      unwrap(
        api.PATCH("/v1/savedViews/{savedView}", {
          params: { path: { savedView: idOf(v.name) } },
          headers: { "If-Match": `"${v.etag}"` },
          body: { displayName: rename.trim() },
        }),
      ),
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: (v: SavedView) =>
      unwrap(api.DELETE("/v1/savedViews/{savedView}", { params: { path: { savedView: idOf(v.name) } }, headers: { "If-Match": `"${v.etag}"` } })),
    onSuccess: () => {
      done(null);
      onPick(null);
    },
  });

  function pick(viewName: string) {
    const v = views.data?.find((x) => x.name === viewName) ?? null;
    setPicked(v);
    setRename(v?.displayName ?? "");
    onPick(v);
  }

  return (
    <div className="card row" data-testid="saved-views">
      <label>
        {t("views.pick")}
        <select name="savedView" value={picked?.name ?? ""} onChange={(e) => pick(e.target.value)}>
          <option value="">{t("views.none")}</option>
          {(views.data ?? []).map((v) => (
            <option key={v.name} value={v.name}>
              {v.displayName}
            </option>
          ))}
        </select>
      </label>
      {picked && (
        <>
          <input name="viewRename" aria-label={t("views.newName")} value={rename} onChange={(e) => setRename(e.target.value)} />
          <button type="button" className="secondary small" disabled={!rename.trim() || change.isPending} onClick={() => change.mutate(picked)}>
            {t("views.rename")}
          </button>
          <button type="button" className="secondary small" disabled={remove.isPending} onClick={() => remove.mutate(picked)}>
            {t("views.delete")}
          </button>
        </>
      )}
      <span className="spacer" />
      <input name="viewName" aria-label={t("views.name")} placeholder={t("views.name")} value={name} onChange={(e) => setName(e.target.value)} />
      <button type="button" disabled={!name.trim() || save.isPending} onClick={() => save.mutate()}>
        {t("views.save")}
      </button>
      <ErrorBanner error={views.error ?? save.error ?? change.error ?? remove.error} />
    </div>
  );
}
