//! One module per flow of issue 5.

mod come_back;
mod first_contact;
mod network_drop;
mod strict_csp;
