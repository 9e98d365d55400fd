//! Helpers for the services' integration tests (feature `testing`).
