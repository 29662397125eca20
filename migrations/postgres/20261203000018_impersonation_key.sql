-- A session got to invoke as a user with an admin API key names that key
-- by its hash (key names repeat): it ends when the key is revoked or
-- expires, or its admin is disabled or deleted. Sessions got before this
-- column keep being matched by the key's name.
alter table user_session add column issuing_key text;
