//! What a page of a list is asked for, as the statements read it: its size and direction, the
//! positions it starts or ends at, and the list its cursors were made for. Cursors as clients
//! see them (opaque strings) are the API's (`api::cursor`), which builds these from them.

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Where a page starts or ends: connections are ordered by a key that is either an id
/// (UUID v7, so creation order) or, for events, the event sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CursorKey {
    Id(Uuid),
    Sequence(i64),
}

/// The list a cursor was made for (`Team.members`, `events`), as it travels in a page's
/// arguments: a hash of its name, so that `PageArgs` stays a small key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListTag(u64);

impl ListTag {
    /// FNV-1a: stable across builds and instances, unlike the standard hasher.
    pub fn of(list: &str) -> ListTag {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in list.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        ListTag(hash)
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
    /// The list the cursors were made for, when they say (`expect_list` checks it).
    pub list: Option<ListTag>,
}

impl PageArgs {
    /// Refuses cursors made for another list than `list` (BAD_USER_INPUT).
    pub fn expect_list(&self, list: &str) -> ApiResult<()> {
        match self.list {
            Some(tag) if tag != ListTag::of(list) => Err(ApiError::bad_input(format!(
                "that cursor was made for another list than `{list}`; use the cursors of this one"
            ))),
            _ => Ok(()),
        }
    }
}
