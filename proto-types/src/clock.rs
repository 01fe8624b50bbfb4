//! The clock engine: due times and alerts (see workflow). Filled in by the workflow work.
