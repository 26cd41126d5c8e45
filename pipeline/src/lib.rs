//! tria
