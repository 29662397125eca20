-- Permission tests as code: saved suites of expectations (`as`, `call`,
-- `expect`) per application, run on demand and before a permission import
-- applies. The body is the suite's JSON, as the admin API takes it.
--
-- Additive: older servers never read it.
create table permission_suite (
    application_id text not null,
    name text not null,
    body text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint permission_suite_pk primary key (application_id, name),
    constraint permission_suite_application_fk foreign key (application_id)
        references application (application_id) on delete cascade
);
