//! tria-filters

pub mod lang;
