//! The Consult chat app (being built).
