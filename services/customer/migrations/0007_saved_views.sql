-- Saved views of the customer list, one set per user (owner is the
-- authenticated subject). A user's views have distinct display names,
-- compared without case: the unique index decides between two concurrent
-- creates of one name. It also serves the listing, which pages by
-- lower(display_name).
CREATE TABLE saved_views (
    id           uuid PRIMARY KEY,
    owner        text NOT NULL,
    display_name text NOT NULL,
    filter       text NOT NULL,
    query        text NOT NULL,
    order_by     text NOT NULL,
    columns      text[] NOT NULL,
    revision     bigint NOT NULL,
    create_time  timestamptz NOT NULL,
    update_time  timestamptz NOT NULL
);
CREATE UNIQUE INDEX saved_views_owner_display_name_key ON saved_views (owner, lower(display_name));
