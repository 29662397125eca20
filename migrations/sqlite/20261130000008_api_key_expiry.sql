-- An admin API key may expire; after that it opens nothing.
alter table admin_api_key add column expires_at bigint;
