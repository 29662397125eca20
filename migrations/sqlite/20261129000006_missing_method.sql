-- A method (or a whole service) that the starting server does not offer is
-- kept, marked missing, with its permissions, until an admin removes it:
-- several versions of the server may share one database during a rolling
-- deploy, and a permission must never vanish silently.
alter table service add column missing bigint not null default 0;
alter table service_method add column missing bigint not null default 0;
