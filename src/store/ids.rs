//! Global ids: an object's kind and database id, encoded as one opaque string. The API hands
//! them out and takes them back (`api::relay`), and event payloads store them, which is why the
//! encoding lives down here, where the rules that write events can reach it.

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

/// The opaque global id of an object.
pub fn encode(kind: NodeKind, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id.as_hyphenated()))
}

/// Any global id's kind and database id; `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(NodeKind, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}

/// The database id of a global id that must be of `kind`. Anything else, forged or of another
/// kind, is NOT_FOUND: from the outside it is indistinguishable from an object one may not see.
pub fn expect(id: &str, kind: NodeKind) -> ApiResult<Uuid> {
    match decode(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(ApiError::not_found(kind.name())),
    }
}
