-- The order book of the demo `orders` service: real data for permissions to guard.
create table demo_order (
    demo_order_id text not null,
    item text not null,
    quantity bigint not null,
    price_cents bigint not null,
    created_by text not null,
    created_at bigint not null,
    constraint demo_order_pk primary key (demo_order_id),
    constraint demo_order_quantity_check check (quantity > 0),
    constraint demo_order_price_check check (price_cents >= 0)
);
