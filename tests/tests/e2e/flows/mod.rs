//! One module per flow of issue 5.

mod after_hours;
mod bad_token;
mod blocked;
mod come_back;
mod first_contact;
mod handoff;
mod launcher_api;
mod network_drop;
mod poster;
mod strict_csp;
mod switched_off;
