//! tickets service (being written).
