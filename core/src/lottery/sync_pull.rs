//! The pull half of the sync: what the cloud sends a store that asks for
//! the games and bins changed since its cookie.
//!
//! The cloud counts every write to a store's games and bins with a
//! revision, 1, 2, 3..., and stamps each record with the revision that last
//! changed it. A [`Cookie`] is such a revision, issued by the cloud; the
//! store only hands it back, so the store's clock never matters.
//! [`pull_page`] returns the records changed after the cookie, oldest
//! first, a page at a time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The most records one pull page holds (unless one revision alone holds
/// more: a revision is never split across pages).
pub const MAX_PULL_PAGE: usize = 500;

/// A server revision, as a pull's cookie.
///
/// Written as its decimal digits with no sign and no leading zero (`0`,
/// `17`); [`Cookie::START`], revision 0, is "nothing yet" and asks for
/// everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cookie(u64);

/// Why a text is not a [`Cookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    /// No characters.
    #[error("cookie: empty")]
    Empty,
    /// A character other than a decimal digit.
    #[error("cookie: not a whole number")]
    NotANumber,
    /// A leading zero, which would give one revision two spellings.
    #[error("cookie: leading zero")]
    LeadingZero,
    /// More than a 64-bit revision holds.
    #[error("cookie: too large")]
    TooLarge,
}

impl Cookie {
    /// Revision 0: a store that has pulled nothing.
    pub const START: Cookie = Cookie(0);

    /// The cookie for a revision.
    pub const fn new(revision: u64) -> Cookie {
        Cookie(revision)
    }

    /// The revision.
    pub const fn revision(self) -> u64 {
        self.0
    }
}

impl FromStr for Cookie {
    type Err = CookieError;

    /// Reads a cookie as [`Cookie`] spells it.
    ///
    /// # Errors
    ///
    /// [`CookieError`] when the text is empty, holds anything but digits,
    /// has a leading zero, or is past `u64::MAX`.
    fn from_str(text: &str) -> Result<Cookie, CookieError> {
        if text.is_empty() {
            return Err(CookieError::Empty);
        }
        if !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(CookieError::NotANumber);
        }
        if text.len() > 1 && text.starts_with('0') {
            return Err(CookieError::LeadingZero);
        }
        text.parse().map(Cookie).map_err(|_| CookieError::TooLarge)
    }
}

impl fmt::Display for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A record with the revision that last changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    /// The revision of its last change, from 1.
    pub revision: u64,
    /// The record as it stands.
    pub record: T,
}

/// One page of a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullPage<T> {
    /// The store's cookie was ahead of the cloud (the cloud's data was
    /// restored or replaced): this pull starts over from nothing, and the
    /// store replaces its copy with what the pages give rather than
    /// merging into it.
    pub reset: bool,
    /// The records, by revision.
    pub changes: Vec<Change<T>>,
    /// The cookie for the next pull.
    pub cookie: Cookie,
    /// More changes remain past this page: pull again with `cookie`.
    pub more: bool,
}

/// The page a pull with `cookie` gets, given every record of the store
/// with its revision (in any order) and the cloud's current `revision`.
///
/// Records changed after the cookie come oldest first, at most
/// `page_size` (itself clamped to 1..=[`MAX_PULL_PAGE`]) of them, except
/// that a revision shared by several records is never split, so a page can
/// exceed the size only when one revision alone does. The next cookie is
/// the last revision on the page while more remain, and the current
/// revision (or the newest record's, if that is later) once none do. A
/// cookie past that revision resets the pull: everything from the start.
pub fn pull_page<T>(
    records: impl IntoIterator<Item = Change<T>>,
    cookie: Cookie,
    revision: u64,
    page_size: usize,
) -> PullPage<T> {
    let mut all: Vec<Change<T>> = records.into_iter().collect();
    let current = all
        .iter()
        .map(|change| change.revision)
        .max()
        .unwrap_or(0)
        .max(revision);
    let reset = cookie.0 > current;
    let since = if reset { 0 } else { cookie.0 };
    all.retain(|change| change.revision > since);
    all.sort_by_key(|change| change.revision);
    let size = page_size.clamp(1, MAX_PULL_PAGE);
    let mut end = all.len().min(size);
    if end < all.len() {
        let cut = all[end].revision;
        let whole = all[..end].partition_point(|change| change.revision < cut);
        end = if whole > 0 {
            whole
        } else {
            all.partition_point(|change| change.revision <= cut)
        };
    }
    let more = end < all.len();
    all.truncate(end);
    let cookie = match all.last() {
        Some(last) if more => Cookie(last.revision),
        _ => Cookie(current),
    };
    PullPage {
        reset,
        changes: all,
        cookie,
        more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(revisions: &[u64]) -> Vec<Change<usize>> {
        revisions
            .iter()
            .enumerate()
            .map(|(record, revision)| Change {
                revision: *revision,
                record,
            })
            .collect()
    }

    fn revisions<T>(page: &PullPage<T>) -> Vec<u64> {
        page.changes.iter().map(|change| change.revision).collect()
    }

    #[test]
    fn cookies_round_trip_and_refuse_other_spellings() {
        for revision in [0, 1, 17, u64::MAX] {
            let text = Cookie::new(revision).to_string();
            assert_eq!(text.parse::<Cookie>(), Ok(Cookie::new(revision)));
        }
        assert_eq!("".parse::<Cookie>(), Err(CookieError::Empty));
        assert_eq!("-1".parse::<Cookie>(), Err(CookieError::NotANumber));
        assert_eq!("+1".parse::<Cookie>(), Err(CookieError::NotANumber));
        assert_eq!("1.0".parse::<Cookie>(), Err(CookieError::NotANumber));
        assert_eq!(" 1".parse::<Cookie>(), Err(CookieError::NotANumber));
        assert_eq!("007".parse::<Cookie>(), Err(CookieError::LeadingZero));
        assert_eq!(
            "18446744073709551616".parse::<Cookie>(),
            Err(CookieError::TooLarge)
        );
        assert_eq!(
            serde_json::to_value(Cookie::new(9)).unwrap(),
            serde_json::json!(9)
        );
    }

    #[test]
    fn a_pull_returns_what_changed_since_the_cookie_oldest_first() {
        let page = pull_page(changes(&[5, 2, 9, 7]), Cookie::new(4), 9, 10);
        assert_eq!(revisions(&page), [5, 7, 9]);
        assert_eq!(page.cookie, Cookie::new(9));
        assert!(!page.more);
        assert!(!page.reset);
    }

    #[test]
    fn an_idle_pull_keeps_the_current_revision() {
        let page = pull_page(changes(&[1, 2]), Cookie::new(2), 6, 10);
        assert!(page.changes.is_empty());
        assert_eq!(page.cookie, Cookie::new(6));
        let empty = pull_page(Vec::<Change<()>>::new(), Cookie::START, 0, 10);
        assert_eq!(empty.cookie, Cookie::START);
        assert!(!empty.more && !empty.reset);
    }

    #[test]
    fn pages_follow_one_another_to_the_end() {
        let all = changes(&[1, 2, 3, 4, 5]);
        let first = pull_page(all.clone(), Cookie::START, 5, 2);
        assert_eq!(
            (revisions(&first), first.cookie, first.more),
            (vec![1, 2], Cookie::new(2), true)
        );
        let second = pull_page(all.clone(), first.cookie, 5, 2);
        assert_eq!(
            (revisions(&second), second.cookie, second.more),
            (vec![3, 4], Cookie::new(4), true)
        );
        let third = pull_page(all, second.cookie, 5, 2);
        assert_eq!(
            (revisions(&third), third.cookie, third.more),
            (vec![5], Cookie::new(5), false)
        );
    }

    #[test]
    fn a_revision_is_never_split_across_pages() {
        let all = changes(&[1, 2, 2, 2, 3]);
        let first = pull_page(all.clone(), Cookie::START, 3, 3);
        assert_eq!(revisions(&first), [1]);
        assert_eq!(first.cookie, Cookie::new(1));
        let second = pull_page(all.clone(), first.cookie, 3, 2);
        assert_eq!(revisions(&second), [2, 2, 2]);
        assert_eq!(second.cookie, Cookie::new(2));
        assert!(second.more);
        let third = pull_page(all, second.cookie, 3, 2);
        assert_eq!(revisions(&third), [3]);
        assert!(!third.more);
    }

    #[test]
    fn the_page_size_is_clamped() {
        let all: Vec<u64> = (1..=600).collect();
        let page = pull_page(changes(&all), Cookie::START, 600, 0);
        assert_eq!(revisions(&page), [1]);
        let page = pull_page(changes(&all), Cookie::START, 600, usize::MAX);
        assert_eq!(page.changes.len(), MAX_PULL_PAGE);
        assert!(page.more);
    }

    #[test]
    fn a_cookie_ahead_of_the_cloud_resets_the_pull() {
        let page = pull_page(changes(&[3, 1, 2]), Cookie::new(40), 3, 10);
        assert!(page.reset);
        assert_eq!(revisions(&page), [1, 2, 3]);
        assert_eq!(page.cookie, Cookie::new(3));
        // A record newer than the stated revision counts as current.
        let page = pull_page(changes(&[8]), Cookie::new(7), 5, 10);
        assert!(!page.reset);
        assert_eq!(revisions(&page), [8]);
        assert_eq!(page.cookie, Cookie::new(8));
    }
}
