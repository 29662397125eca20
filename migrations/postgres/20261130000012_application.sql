-- Applications and their API keys (DESIGN section 8). A console holds
-- applications; this version keeps one, the default application, which owns
-- everything stored so far. Each application has API keys, one per kind of
-- client, each carrying a system role that is a subject of every call made
-- with it. Keys identify a client; they are not secrets.
create table application (
    application_id text not null,
    name text not null,
    is_default bigint not null default 0,
    created_at bigint not null,
    constraint application_pk primary key (application_id),
    constraint application_name_key unique (name)
);

-- The key roles are system roles. A custom role that already has one of
-- their names (any case) keeps its users and cells under a new name,
-- `<name> custom`, so nothing it meant changes and the key role starts
-- empty.
update role set name = name || ' custom', name_key = name_key || ' custom'
    where is_system = 0
    and name_key in ('restuser', 'jsuser', 'androiduser', 'iosuser', 'dotnetuser', 'servercodeuser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-RESTUSER', 'RestUser', 'restuser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'restuser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-JSUSER', 'JSUser', 'jsuser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'jsuser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-ANDROIDUSER', 'AndroidUser', 'androiduser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'androiduser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-IOSUSER', 'IOSUser', 'iosuser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'iosuser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-DOTNETUSER', 'DotNetUser', 'dotnetuser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'dotnetuser');
insert into role (role_id, name, name_key, is_system, created_at, updated_at)
    select 'SYSTEM-SERVERCODEUSER', 'ServerCodeUser', 'servercodeuser', 1, 0, 0
    where not exists (select 1 from role where name_key = 'servercodeuser');

create table api_key (
    api_key text not null,
    application_id text not null,
    name text not null,
    role_id text not null,
    created_at bigint not null,
    constraint api_key_pk primary key (api_key),
    constraint api_key_name_key unique (application_id, name),
    constraint api_key_application_fk foreign key (application_id)
        references application (application_id) on delete cascade,
    constraint api_key_role_fk foreign key (role_id) references role (role_id)
);

create index api_key_application_idx on api_key (application_id);

insert into application (application_id, name, is_default, created_at)
    values (upper(gen_random_uuid()::text), 'Default', 1, cast(extract(epoch from now()) * 1000 as bigint));

insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, 'REST', (select role_id from role where name_key = 'restuser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, 'JS', (select role_id from role where name_key = 'jsuser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, 'Android', (select role_id from role where name_key = 'androiduser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, 'iOS', (select role_id from role where name_key = 'iosuser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, '.NET', (select role_id from role where name_key = 'dotnetuser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
insert into api_key (api_key, application_id, name, role_id, created_at)
    select upper(gen_random_uuid()::text), application_id, 'CodeRunner', (select role_id from role where name_key = 'servercodeuser'), cast(extract(epoch from now()) * 1000 as bigint)
    from application where is_default = 1;
