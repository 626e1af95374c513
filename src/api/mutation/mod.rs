//! Mutations, each `XMutation` with its Input and Payload types, merged into the root
//! `Mutation`: access requests (`access_request`), developer connections (`developer`), team memberships (`membership`), SSH keys
//! (`ssh_key`), teams (`team`), personal access tokens (`token`). The rest still sit with their object's type
//! in `api::types`.

pub mod access_request;
pub mod developer;
pub mod membership;
pub mod ssh_key;
pub mod team;
pub mod token;
