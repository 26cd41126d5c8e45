//! tria-filters
pub mod quality;
pub mod words;
