//! The Consult gateway (being built).
