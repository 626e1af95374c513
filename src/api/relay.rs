//! Relay plumbing: opaque global ids, opaque cursors and the page arguments of connections.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::page::{CursorKey, DEFAULT_PAGE, ListTag, MAX_PAGE, PageArgs};

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

/// The list every event cursor belongs to: `Query.events`, each object's `events` and the events
/// subscription share one order, the event sequence, so their cursors are interchangeable.
pub const EVENTS: &str = "events";

/// The opaque cursor of `key` in `list`: a cursor names the list it was made for, so that one
/// used with another list is refused rather than read as a position in it.
pub fn encode_cursor(list: &str, key: CursorKey) -> String {
    let text = match key {
        CursorKey::Id(id) => format!("{list}/id:{}", id.as_hyphenated()),
        CursorKey::Sequence(seq) => format!("{list}/seq:{seq}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// A cursor's list and position. Cursors made before they named their list (`id:…`, `seq:…`)
/// have none and are taken for any list of their kind of key.
pub fn decode_cursor(cursor: &str) -> ApiResult<(Option<ListTag>, CursorKey)> {
    let invalid = || ApiError::bad_input(format!("`{cursor}` is not a cursor"));
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| invalid())?;
    let text = std::str::from_utf8(&raw).map_err(|_| invalid())?;
    let (list, position) = match text.rsplit_once('/') {
        Some((list, position)) => (Some(ListTag::of(list)), position),
        None => (None, text),
    };
    let key = match position.split_once(':') {
        Some(("id", id)) => CursorKey::Id(Uuid::parse_str(id).map_err(|_| invalid())?),
        Some(("seq", seq)) => CursorKey::Sequence(seq.parse().map_err(|_| invalid())?),
        _ => return Err(invalid()),
    };
    Ok((list, key))
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Self> {
        let check = |name: &str, n: i32| -> ApiResult<u64> {
            u64::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE)
                .ok_or_else(|| {
                    ApiError::bad_input(format!("`{name}` must be between 0 and {MAX_PAGE}"))
                })
        };
        let (limit, backward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "pass either `first` or `last`, not both",
                ));
            }
            (Some(n), None) => (check("first", n)?, false),
            (None, Some(n)) => (check("last", n)?, true),
            (None, None) => (DEFAULT_PAGE, false),
        };
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let before = before.as_deref().map(decode_cursor).transpose()?;
        let list = match (
            after.and_then(|(list, _)| list),
            before.and_then(|(list, _)| list),
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::bad_input(
                    "`after` and `before` are cursors of different lists",
                ));
            }
            (a, b) => a.or(b),
        };
        Ok(PageArgs {
            limit,
            backward,
            after: after.map(|(_, key)| key),
            before: before.map(|(_, key)| key),
            list,
        })
    }
}

/// The position of `cursor`, which must be one of `list`'s (or name no list).
pub fn cursor_in(list: &str, cursor: &str) -> ApiResult<CursorKey> {
    match decode_cursor(cursor)? {
        (Some(tag), _) if tag != ListTag::of(list) => Err(crate::store::page::foreign_cursor(list)),
        (_, key) => Ok(key),
    }
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

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = CursorKey::Id(Uuid::now_v7());
        let members = Some(ListTag::of("Team.members"));
        assert_eq!(
            decode_cursor(&encode_cursor("Team.members", key)).ok(),
            Some((members, key))
        );
        let seq = CursorKey::Sequence(42);
        assert_eq!(
            decode_cursor(&encode_cursor(EVENTS, seq)).ok(),
            Some((Some(ListTag::of(EVENTS)), seq))
        );
        assert_eq!(
            decode_cursor("bm90IGEgY3Vyc29y").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        // A cursor made before cursors named their list still reads.
        let legacy = URL_SAFE_NO_PAD.encode("seq:7");
        assert_eq!(
            decode_cursor(&legacy).ok(),
            Some((None, CursorKey::Sequence(7)))
        );
        assert_eq!(
            cursor_in(EVENTS, &legacy).ok(),
            Some(CursorKey::Sequence(7))
        );
    }

    /// A cursor of one list is refused by another, with BAD_USER_INPUT; so are `after` and
    /// `before` of two lists.
    #[test]
    fn a_cursor_belongs_to_its_list() {
        let key = CursorKey::Id(Uuid::now_v7());
        let members = encode_cursor("Team.members", key);
        let args = PageArgs::new(Some(5), Some(members.clone()), None, None).expect("valid");
        assert!(args.expect_list("Team.members").is_ok());
        assert_eq!(
            args.expect_list("Person.teams").map_err(|e| e.code()),
            Err("BAD_USER_INPUT")
        );
        let teams = encode_cursor("Person.teams", key);
        assert!(PageArgs::new(None, Some(members.clone()), Some(5), Some(teams)).is_err());
        assert_eq!(
            cursor_in(EVENTS, &members).map_err(|e| e.code()),
            Err("BAD_USER_INPUT")
        );
        // No cursor, no list to check.
        let first = PageArgs::new(Some(5), None, None, None).expect("valid");
        assert!(first.expect_list("anything").is_ok());
    }

    #[test]
    fn page_arguments_are_bounded() {
        assert!(PageArgs::new(Some(100), None, None, None).is_ok());
        assert!(PageArgs::new(Some(101), None, None, None).is_err());
        assert!(PageArgs::new(Some(-1), None, None, None).is_err());
        assert!(PageArgs::new(Some(1), None, Some(1), None).is_err());
        let default = PageArgs::new(None, None, None, None).unwrap();
        assert_eq!((default.limit, default.backward), (DEFAULT_PAGE, false));
    }
}
