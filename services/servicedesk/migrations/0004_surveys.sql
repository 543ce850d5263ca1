-- Satisfaction surveys issued when tickets are resolved. The link's token
-- is stored only as its SHA-256: whoever reads the table cannot answer.
CREATE TABLE surveys (
    id          uuid PRIMARY KEY,
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    kind        text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    state       text NOT NULL,
    score       smallint,
    comment     text NOT NULL DEFAULT '',
    issue_time  timestamptz NOT NULL,
    expire_time timestamptz NOT NULL,
    answer_time timestamptz
);
CREATE INDEX surveys_ticket_idx ON surveys (ticket_id, issue_time DESC);
CREATE INDEX surveys_issue_idx ON surveys (issue_time DESC, id DESC);

-- The latest answer, on the ticket.
ALTER TABLE tickets
    ADD COLUMN survey_kind        text NOT NULL DEFAULT '',
    ADD COLUMN survey_score       smallint,
    ADD COLUMN survey_comment     text NOT NULL DEFAULT '',
    ADD COLUMN survey_answer_time timestamptz;
