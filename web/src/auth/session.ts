// The signed-in user and their bearer token, kept in memory only: nothing
// is written to localStorage or sessionStorage, where a script injected
// into the page could read it. Reloading the page signs out.
import { useSyncExternalStore } from "react";

export interface Session {
  token: string;
  subject: string;
  roles: string[];
  expireTime: Date;
}

let current: Session | null = null;
const listeners = new Set<() => void>();

function emit() {
  for (const l of listeners) l();
}

export function signIn(s: Session) {
  current = s;
  emit();
}

export function signOut() {
  current = null;
  emit();
}

export function getSession(): Session | null {
  if (current && current.expireTime.getTime() <= Date.now()) current = null;
  return current;
}

export function getToken(): string | undefined {
  return getSession()?.token;
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => current);
}

/** Roles that may change records (the services enforce it; the UI hides what would fail). */
export function canWrite(s: Session | null): boolean {
  return !!s && s.roles.some((r) => r === "admin" || r === "manager" || r === "agent");
}

/** Roles that manage across agents: duplicates and merges, saved views shared by managers. */
export function isManager(s: Session | null): boolean {
  return !!s && s.roles.some((r) => r === "admin" || r === "manager");
}
