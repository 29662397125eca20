-- An example of each method's arguments, for the console's invocation page.
alter table service_method add column example text not null default '{}';
