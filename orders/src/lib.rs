//! orders service (being written).
