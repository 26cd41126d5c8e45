//! tria-dedup
