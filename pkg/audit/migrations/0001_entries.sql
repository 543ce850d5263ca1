-- The audit trail of the whole suite: every service appends to this one
-- table (schema "audit", which no service owns), and admins read it
-- through kehu.audit.v1.AuditService.
CREATE TABLE entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time           timestamptz NOT NULL DEFAULT now(),
    service        text NOT NULL,
    method         text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('MUTATION', 'PERSONAL_DATA_READ')),
    actor          text NOT NULL,
    roles          text[] NOT NULL DEFAULT '{}',
    resource       text NOT NULL DEFAULT '',
    fields         text[] NOT NULL DEFAULT '{}',
    result         text NOT NULL,
    request_id     text NOT NULL DEFAULT '',
    client_request_id text NOT NULL DEFAULT '',
    client_address text NOT NULL DEFAULT '',
    peer           text NOT NULL DEFAULT ''
);

-- Newest first, the order every listing uses.
CREATE INDEX entries_time ON entries (time DESC, id DESC);
CREATE INDEX entries_actor ON entries (actor, time DESC);
CREATE INDEX entries_resource ON entries (resource, time DESC);

-- Append-only, enforced here rather than trusted to the services: a
-- development database role is a superuser, whom REVOKE does not bind, but
-- triggers fire for superusers too. Rows are never updated; the only
-- deletion is prune() removing rows older than the cutoff it was given.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('kehu.audit_prune_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> '' THEN
        IF OLD.time < cutoff::timestamptz THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- prune deletes the entries older than cutoff and says how many: the
-- retention janitor's only way to delete. SECURITY DEFINER lets a
-- production role that holds only INSERT and SELECT on entries (and
-- EXECUTE on this function) prune without being able to delete anything
-- else; a cutoff less than a day old is refused, so not even that role can
-- empty the trail through it.
CREATE FUNCTION prune(cutoff timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF cutoff IS NULL OR cutoff > now() - interval '1 day' THEN
        RAISE EXCEPTION 'audit entries are kept at least a day (cutoff %)', cutoff
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('kehu.audit_prune_before', cutoff::text, true);
    DELETE FROM entries WHERE time < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('kehu.audit_prune_before', '', true);
    RETURN n;
END
$$;
