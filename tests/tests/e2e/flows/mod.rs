//! One module per flow of issue 5.

mod accessibility;
mod after_hours;
mod bad_token;
mod blocked;
mod come_back;
mod desk_keyboard;
mod first_contact;
mod free_text;
mod handoff;
mod launcher_api;
mod network_drop;
mod order_bot;
mod poster;
mod screens;
mod strict_csp;
mod switched_off;
mod supervisor;
