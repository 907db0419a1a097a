//! One module per flow of issue 5.

mod come_back;
mod first_contact;
mod strict_csp;
