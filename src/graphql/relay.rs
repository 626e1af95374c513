//! Relay plumbing: opaque global ids, opaque cursors and the page arguments of connections.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The kinds of objects that have a global id. The name is part of the encoded id, so an id of
/// one kind passed where another is expected is recognised (and answered with NOT_FOUND).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Person,
    Team,
    App,
    Environment,
    PaymentMethod,
    SshKey,
    PersonalAccessToken,
    Invitation,
    AccessRequest,
    Event,
    EventFilter,
}

impl NodeKind {
    /// Every kind.
    pub const ALL: [NodeKind; 11] = [
        NodeKind::Person,
        NodeKind::Team,
        NodeKind::App,
        NodeKind::Environment,
        NodeKind::PaymentMethod,
        NodeKind::SshKey,
        NodeKind::PersonalAccessToken,
        NodeKind::Invitation,
        NodeKind::AccessRequest,
        NodeKind::Event,
        NodeKind::EventFilter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Person => "Person",
            NodeKind::Team => "Team",
            NodeKind::App => "App",
            NodeKind::Environment => "Environment",
            NodeKind::PaymentMethod => "PaymentMethod",
            NodeKind::SshKey => "SshKey",
            NodeKind::PersonalAccessToken => "PersonalAccessToken",
            NodeKind::Invitation => "Invitation",
            NodeKind::AccessRequest => "AccessRequest",
            NodeKind::Event => "Event",
            NodeKind::EventFilter => "EventFilter",
        }
    }
}

/// Encodes the opaque global id of an object.
pub fn global_id(kind: NodeKind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id.as_hyphenated())))
}

/// Decodes any global id into its kind and database id; `None` when it is not one of ours.
pub fn decode_global_id(id: &str) -> Option<(NodeKind, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}

/// Decodes a global id that must be of `kind`. Anything else, forged or of another kind, is
/// NOT_FOUND: from the outside it is indistinguishable from an object one may not see.
pub fn expect_global_id(id: &ID, kind: NodeKind) -> ApiResult<Uuid> {
    match decode_global_id(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(ApiError::not_found(kind.name())),
    }
}

/// Where a page starts or ends: connections are ordered by a key that is either an id
/// (UUID v7, so creation order) or, for events, the event sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CursorKey {
    Id(Uuid),
    Sequence(i64),
}

pub fn encode_cursor(key: CursorKey) -> String {
    let text = match key {
        CursorKey::Id(id) => format!("id:{}", id.as_hyphenated()),
        CursorKey::Sequence(seq) => format!("seq:{seq}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_cursor(cursor: &str) -> ApiResult<CursorKey> {
    let invalid = || ApiError::bad_input(format!("`{cursor}` is not a cursor"));
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| invalid())?;
    let text = std::str::from_utf8(&raw).map_err(|_| invalid())?;
    match text.split_once(':') {
        Some(("id", id)) => Ok(CursorKey::Id(Uuid::parse_str(id).map_err(|_| invalid())?)),
        Some(("seq", seq)) => Ok(CursorKey::Sequence(seq.parse().map_err(|_| invalid())?)),
        _ => Err(invalid()),
    }
}

/// The largest page a connection returns (docs/rules.md, "Pages").
pub const MAX_PAGE: u64 = 100;
/// The page size when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE: u64 = 20;

/// Validated `first/after/last/before`, hashable so that it can be part of a dataloader key:
/// all parents asking for the same page shape are answered by one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub limit: u64,
    /// `true` for `last/before`: the page is taken from the end.
    pub backward: bool,
    pub after: Option<CursorKey>,
    pub before: Option<CursorKey>,
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
        Ok(PageArgs {
            limit,
            backward,
            after: after.as_deref().map(decode_cursor).transpose()?,
            before: before.as_deref().map(decode_cursor).transpose()?,
        })
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
        assert_eq!(decode_cursor(&encode_cursor(key)).ok(), Some(key));
        let seq = CursorKey::Sequence(42);
        assert_eq!(decode_cursor(&encode_cursor(seq)).ok(), Some(seq));
        assert_eq!(
            decode_cursor("bm90IGEgY3Vyc29y").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
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
