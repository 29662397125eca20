-- A console admin can be disabled (null: enabled) by another admin.
alter table console_admin add column disabled_at bigint;
