//! tria-filters
