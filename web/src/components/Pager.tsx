import { useTranslation } from "react-i18next";

/** Previous/next over AIP-158 page tokens: the tokens of the pages seen so far. */
export function Pager({ tokens, next, onChange }: { tokens: string[]; next?: string; onChange: (tokens: string[]) => void }) {
  const { t } = useTranslation();
  return (
    <div className="pager">
      <button type="button" className="secondary small" disabled={tokens.length === 0} onClick={() => onChange(tokens.slice(0, -1))}>
        {t("common.previous")}
      </button>
      <button type="button" className="secondary small" disabled={!next} onClick={() => next && onChange([...tokens, next])}>
        {t("common.next")}
      </button>
    </div>
  );
}
