//! Relay plumbing: opaque global ids. Cursors and page arguments are in `api::cursor`.

use async_graphql::ID;
use uuid::Uuid;

use crate::error::ApiResult;

pub use crate::store::ids::NodeKind;

/// Encodes the opaque global id of an object.
pub fn global_id(kind: NodeKind, id: Uuid) -> ID {
    ID(crate::store::ids::encode(kind, id))
}

/// Decodes any global id into its kind and database id; `None` when it is not one of ours.
pub fn decode_global_id(id: &str) -> Option<(NodeKind, Uuid)> {
    crate::store::ids::decode(id)
}

/// Decodes a global id that must be of `kind`; anything else is NOT_FOUND (`store::ids::expect`).
pub fn expect_global_id(id: &ID, kind: NodeKind) -> ApiResult<Uuid> {
    crate::store::ids::expect(id, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_keep_their_kind() {
        let id = Uuid::now_v7();
        let gid = global_id(NodeKind::Team, id);
        assert_eq!(decode_global_id(&gid), Some((NodeKind::Team, id)));
        assert!(expect_global_id(&gid, NodeKind::Team).is_ok());
        let err = expect_global_id(&gid, NodeKind::App).unwrap_err();
        assert_eq!(err.code(), "NOT_FOUND");
    }

    #[test]
    fn forged_ids_are_not_found() {
        for forged in ["", "???", "VGVhbTpub3QtYS11dWlk", "Tm9wZTox"] {
            assert_eq!(decode_global_id(forged), None, "{forged}");
        }
    }
}
