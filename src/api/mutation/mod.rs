//! Mutations that belong to no one object's type: developer connections (`developer`) and team
//! memberships (`membership`). Each `XMutation` is merged into the root `Mutation`.

pub mod developer;
pub mod membership;
