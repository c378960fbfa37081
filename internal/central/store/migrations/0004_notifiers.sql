-- Notifiers: where alerts are forwarded. The JSON document is the notifier
-- in the ACS shape with every secret field encrypted (secret package); name
-- and type are copies for listing and uniqueness.
CREATE TABLE notifiers (
    id          TEXT${BYTEORDER} PRIMARY KEY,
    name        TEXT${BYTEORDER} NOT NULL,
    name_fold   TEXT${BYTEORDER} NOT NULL,
    type        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    body        ${BLOB} NOT NULL
);
CREATE UNIQUE INDEX notifiers_name_fold ON notifiers (name_fold);

-- The delivery outbox: one row per message and notifier, written in the
-- transaction that records what it reports (an alert, a state change, an
-- audited API call). state is PENDING until the notifier acknowledged it
-- (DELIVERED), it was folded into a storm summary (FOLDED, folded_into
-- names the summary), or it was given up (DEAD, with last_error). A
-- PENDING row is due at next_attempt_at and, while a delivery attempt holds
-- it, leased until lease_until; a failure after expires_at makes it DEAD. body is the notifier.Message JSON.
CREATE TABLE notifier_outbox (
    id               TEXT${BYTEORDER} PRIMARY KEY,
    notifier_id      TEXT${BYTEORDER} NOT NULL,
    kind             TEXT NOT NULL,
    event            TEXT NOT NULL,
    alert_id         TEXT NOT NULL,
    severity         TEXT NOT NULL,
    policy_name      TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    lease_until      BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    last_error       TEXT NOT NULL,
    folded_into      TEXT NOT NULL,
    body             ${BLOB} NOT NULL
);
CREATE INDEX notifier_outbox_due ON notifier_outbox (notifier_id, state, next_attempt_at, created_at);
CREATE INDEX notifier_outbox_list ON notifier_outbox (notifier_id, state, created_at);
CREATE INDEX notifier_outbox_alert ON notifier_outbox (alert_id);
CREATE INDEX notifier_outbox_updated ON notifier_outbox (state, updated_at);
