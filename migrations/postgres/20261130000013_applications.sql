-- Several applications (DESIGN section 8). Users, roles and services belong
-- to one application each; names are unique within it. Everything stored so
-- far belongs to the default application. Permission cells, role
-- assignments and sessions belong to an application through their user,
-- role or service, whose ids are unique across the console.
--
-- A breaking step: servers older than this migration cannot write users,
-- roles or services on it, so a rolling deploy across it upgrades every
-- server before admins make changes.

-- Settings: null follows the server's configuration.
alter table application add column policy_version bigint not null default 0;
alter table application add column session_timeout_secs bigint;
alter table application add column max_failed_logins bigint;
alter table application add column lockout_secs bigint;
alter table application add column registration bigint;

alter table app_user add column application_id text;
update app_user set application_id = (select application_id from application where is_default = 1);
alter table app_user alter column application_id set not null;
alter table app_user drop constraint app_user_email_key;
alter table app_user add constraint app_user_email_key unique (application_id, email);
alter table app_user add constraint app_user_application_fk foreign key (application_id)
    references application (application_id) on delete cascade;

alter table role add column application_id text;
update role set application_id = (select application_id from application where is_default = 1);
alter table role alter column application_id set not null;
alter table role drop constraint role_name_key;
alter table role add constraint role_name_key unique (application_id, name_key);
alter table role add constraint role_application_fk foreign key (application_id)
    references application (application_id) on delete cascade;

alter table service add column application_id text;
update service set application_id = (select application_id from application where is_default = 1);
alter table service alter column application_id set not null;
alter table service drop constraint service_name_key;
alter table service add constraint service_name_key unique (application_id, name);
alter table service add constraint service_application_fk foreign key (application_id)
    references application (application_id) on delete cascade;

alter table login_attempt add column application_id text;
update login_attempt set application_id = (select application_id from application where is_default = 1);
alter table login_attempt alter column application_id set not null;
alter table login_attempt drop constraint login_attempt_pk;
alter table login_attempt add constraint login_attempt_pk primary key (application_id, email);

-- The demo `orders` service keeps each application's orders apart.
alter table demo_order add column application_id text;
update demo_order set application_id = (select application_id from application where is_default = 1);
create index demo_order_application_idx on demo_order (application_id, created_at);

-- Console-level events (admin accounts and keys) belong to no application.
alter table audit_event add column application_id text;
update audit_event set application_id = (select application_id from application where is_default = 1)
    where action not like 'admin.%' and action not like 'apikey.%';
create index audit_event_application_idx on audit_event (application_id, created_at);
