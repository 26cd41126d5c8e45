//! Summaries of tag-only runs.
