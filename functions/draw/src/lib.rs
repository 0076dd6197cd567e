//! Tombola's draw component.
