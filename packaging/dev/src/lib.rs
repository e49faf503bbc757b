//! Holds the metadata of the agent-harness-dev Debian package (see Cargo.toml); no code.
