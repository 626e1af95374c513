//! Typed cursors. A cursor is opaque to clients (a `String` in the schema), and to the server it
//! is a position in one list, in the order that list is read in: `Cursor<L>` is decoded as the
//! arguments are, and one made for another list, or for another order, is refused there with
//! BAD_USER_INPUT, over HTTP and WebSockets alike, before any resolver runs. Each connection
//! family is a type implementing `List` (`lists`), so a resolver cannot be handed a cursor of
//! another family by mistake: it names the family in its signature.

use std::borrow::Cow;
use std::marker::PhantomData;

use async_graphql::registry::Registry;
use async_graphql::{InputType, InputValueError, InputValueResult, Value};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::page::{CursorKey, DEFAULT_PAGE, ListTag, MAX_PAGE, PageArgs};

/// The order a list's pages follow, which decides what its cursors hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By id: UUID v7, so creation order.
    Id,
    /// By event sequence.
    Sequence,
}

/// A connection family: the lists whose cursors are interchangeable.
pub trait List: Send + Sync + 'static {
    /// The name its cursors carry: `Type.field`, or `events` for every list of events.
    const NAME: &'static str;
    /// The order its pages follow.
    const ORDER: Order;
}

/// Every connection family of the schema.
pub mod lists {
    use super::{List, Order};

    macro_rules! lists {
        ($($family:ident = $name:literal by $order:ident),* $(,)?) => {$(
            #[doc = concat!("The cursors of `", $name, "`.")]
            pub struct $family;
            impl List for $family {
                const NAME: &'static str = $name;
                const ORDER: Order = Order::$order;
            }
        )*};
    }

    lists!(
        AppDevelopers = "App.developers" by Id,
        AppInvitations = "App.invitations" by Id,
        AppTeams = "App.teams" by Id,
        EnvironmentAuthorizedKeys = "Environment.authorizedKeys" by Id,
        PaymentMethodApps = "PaymentMethod.apps" by Id,
        PaymentMethodInvitations = "PaymentMethod.invitations" by Id,
        PaymentMethodPeople = "PaymentMethod.people" by Id,
        PaymentMethodTeams = "PaymentMethod.teams" by Id,
        PersonApps = "Person.apps" by Id,
        PersonInvitations = "Person.invitations" by Id,
        PersonPaymentMethods = "Person.paymentMethods" by Id,
        PersonPersonalAccessTokens = "Person.personalAccessTokens" by Id,
        PersonTeams = "Person.teams" by Id,
        TeamAccessRequests = "Team.accessRequests" by Id,
        TeamApps = "Team.apps" by Id,
        TeamInvitations = "Team.invitations" by Id,
        TeamMembers = "Team.members" by Id,
        TeamPaymentMethods = "Team.paymentMethods" by Id,
        // `Query.events`, each object's `events` and the events subscription share one order,
        // the event sequence, so their cursors are interchangeable.
        Events = "events" by Sequence,
    );
}

/// The opaque cursor of `key` in the list `list`.
pub fn encode(list: &str, key: CursorKey) -> String {
    let text = match key {
        CursorKey::Id(id) => format!("{list}/id:{}", id.as_hyphenated()),
        CursorKey::Sequence(seq) => format!("{list}/seq:{seq}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// A cursor's list and position. Cursors made before they named their list (`id:…`, `seq:…`)
/// have none and are taken by any list of their order.
fn decode(cursor: &str) -> Result<(Option<ListTag>, CursorKey), String> {
    let invalid = || format!("`{cursor}` is not a cursor");
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

/// A position in a list of family `L`, decoded and checked as the arguments are.
pub struct Cursor<L> {
    key: CursorKey,
    list: PhantomData<fn() -> L>,
}

impl<L: List> Cursor<L> {
    /// Reads `text` as a cursor of `L`: refused when it is none, names another list, or holds a
    /// position of another order.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (list, key) = decode(text)?;
        if list.is_some_and(|tag| tag != ListTag::of(L::NAME)) {
            return Err(format!(
                "that cursor was made for another list than `{}`; use the cursors of this one",
                L::NAME
            ));
        }
        match (L::ORDER, key) {
            (Order::Id, CursorKey::Id(_)) | (Order::Sequence, CursorKey::Sequence(_)) => {}
            (Order::Id, CursorKey::Sequence(_)) => {
                return Err(format!(
                    "that cursor is an event cursor, not one of `{}`",
                    L::NAME
                ));
            }
            (Order::Sequence, CursorKey::Id(_)) => {
                return Err("that cursor is not an event cursor".to_owned());
            }
        }
        Ok(Cursor {
            key,
            list: PhantomData,
        })
    }

    /// The position it holds.
    pub fn key(&self) -> CursorKey {
        self.key
    }
}

impl<L> Clone for Cursor<L> {
    fn clone(&self) -> Self {
        Cursor {
            key: self.key,
            list: PhantomData,
        }
    }
}

/// In the schema a cursor is the built-in `String`: its type information is `String`'s own, so
/// the SDL is unchanged, and only its parsing is the cursor's.
impl<L: List> InputType for Cursor<L> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        <String as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        match value {
            Some(Value::String(text)) => Cursor::parse(&text).map_err(|message| {
                InputValueError::custom(message).with_extension("code", "BAD_USER_INPUT")
            }),
            other => Err(InputValueError::expected_type(other.unwrap_or_default())
                .with_extension("code", "BAD_USER_INPUT")),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(encode(L::NAME, self.key))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

impl PageArgs {
    /// Validated `first/after/last/before` of a list of family `L`.
    pub fn new<L: List>(
        first: Option<i32>,
        after: Option<Cursor<L>>,
        last: Option<i32>,
        before: Option<Cursor<L>>,
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
            after: after.map(|c| c.key),
            before: before.map(|c| c.key),
            list: Some(ListTag::of(L::NAME)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::lists::{Events, PersonTeams, TeamMembers};
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = CursorKey::Id(Uuid::now_v7());
        let members = encode(TeamMembers::NAME, key);
        assert_eq!(
            Cursor::<TeamMembers>::parse(&members).map(|c| c.key()),
            Ok(key)
        );
        let seq = CursorKey::Sequence(42);
        assert_eq!(
            Cursor::<Events>::parse(&encode(Events::NAME, seq)).map(|c| c.key()),
            Ok(seq)
        );
        assert!(Cursor::<Events>::parse("bm90IGEgY3Vyc29y").is_err());
        assert!(Cursor::<Events>::parse("not base64 at all!").is_err());
        // A cursor made before cursors named their list still reads, in a list of its order.
        let legacy = URL_SAFE_NO_PAD.encode("seq:7");
        assert_eq!(
            Cursor::<Events>::parse(&legacy).map(|c| c.key()),
            Ok(CursorKey::Sequence(7))
        );
        assert!(Cursor::<TeamMembers>::parse(&legacy).is_err());
    }

    /// A cursor of one list is refused by another, and an event cursor by a list ordered by id;
    /// the refusal is BAD_USER_INPUT.
    #[test]
    fn a_cursor_belongs_to_its_list_and_its_order() {
        let key = CursorKey::Id(Uuid::now_v7());
        let members = encode(TeamMembers::NAME, key);
        assert!(Cursor::<PersonTeams>::parse(&members).is_err());
        assert!(Cursor::<Events>::parse(&members).is_err());
        let forged = encode(TeamMembers::NAME, CursorKey::Sequence(3));
        assert!(Cursor::<TeamMembers>::parse(&forged).is_err());
        let refused = <Cursor<PersonTeams> as InputType>::parse(Some(Value::String(members)))
            .err()
            .map(|err| err.into_server_error(Default::default()));
        let code = refused
            .and_then(|err| err.extensions)
            .and_then(|extensions| extensions.get("code").cloned());
        assert_eq!(code, Some(Value::from("BAD_USER_INPUT")));
    }

    #[test]
    fn page_arguments_are_bounded_and_name_their_list() {
        let none = None::<Cursor<TeamMembers>>;
        assert!(PageArgs::new(Some(100), none.clone(), None, none.clone()).is_ok());
        assert!(PageArgs::new(Some(101), none.clone(), None, none.clone()).is_err());
        assert!(PageArgs::new(Some(-1), none.clone(), None, none.clone()).is_err());
        assert!(PageArgs::new(Some(1), none.clone(), Some(1), none.clone()).is_err());
        let default = PageArgs::new(None, none.clone(), None, none).expect("valid");
        assert_eq!((default.limit, default.backward), (DEFAULT_PAGE, false));
        assert!(default.expect_list(TeamMembers::NAME).is_ok());
        assert!(default.expect_list(PersonTeams::NAME).is_err());
    }
}
