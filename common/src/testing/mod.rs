//! The real-server test harness.
