import { useTranslation } from "react-i18next";
import { enumValue } from "../lib/format";

type Group = "stage" | "tier" | "status" | "priority" | "channel" | "followUpState";
const prefixes: Record<Group, string> = {
  stage: "LIFECYCLE_STAGE_", tier: "VALUE_TIER_", status: "STATUS_", priority: "PRIORITY_", channel: "CHANNEL_", followUpState: "STATE_",
};

/** The translated label of an API enum value. */
export function useEnumLabel() {
  const { t } = useTranslation();
  return (group: Group, v: string | undefined) => {
    const key = enumValue(v, prefixes[group]) || "UNSPECIFIED";
    return t(`enums.${group}.${key}`, { defaultValue: key });
  };
}

export function Badge({ group, value }: { group: Group; value: string | undefined }) {
  const label = useEnumLabel();
  return <span className={`badge ${group}-${enumValue(value, prefixes[group]).toLowerCase()}`}>{label(group, value)}</span>;
}
