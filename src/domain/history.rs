//! What an alias served before: the versions lambda-deploy moved it away from, newest
//! first, kept at the end of the alias's own description (`…, served 3 2 1`) after the
//! mark of the run that moved it. Rollback walks this list back one step at a time.
//!
//! The list lives on the alias because Lambda keeps nothing else per alias, and it must
//! survive without any other store. It is bounded by Lambda's 256-character limit on an
//! alias description: the oldest versions are dropped first. An alias no lambda-deploy
//! run has moved since this record was introduced has an empty list.

/// Longest Lambda alias description.
pub(crate) const MAX_ALIAS_DESCRIPTION: usize = 256;

/// How the list starts inside the description.
const SERVED: &str = ", served ";

/// Whether `v` is a published version number.
fn is_version(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// The versions the alias served before, newest first, read from its description.
pub(crate) fn served_before(description: &str) -> Vec<String> {
    let Some(at) = description.rfind(SERVED) else {
        return Vec::new();
    };
    description[at + SERVED.len()..]
        .split(' ')
        .filter(|v| is_version(v))
        .map(str::to_string)
        .collect()
}

/// `mark` (what moved the alias) followed by the `served` list, as long as Lambda allows:
/// the oldest versions are left out first.
pub(crate) fn with_served(mark: String, served: &[String]) -> String {
    let mut out = mark;
    let bare = out.len();
    if served.is_empty() || bare + SERVED.len() >= MAX_ALIAS_DESCRIPTION {
        return out;
    }
    out.push_str(SERVED);
    let mut written = 0;
    for v in served {
        let gap = usize::from(written > 0);
        if out.len() + gap + v.len() > MAX_ALIAS_DESCRIPTION {
            break;
        }
        if gap == 1 {
            out.push(' ');
        }
        out.push_str(v);
        written += 1;
    }
    if written == 0 {
        out.truncate(bare);
    }
    out
}

/// The list after a deploy moves the alias from `from` to `to`: `from` goes on top, and
/// `to` leaves the list (an alias never steps back to the version it serves).
pub(crate) fn after_move(before: &[String], from: Option<&str>, to: &str) -> Vec<String> {
    if from == Some(to) {
        return before.to_vec();
    }
    from.filter(|f| is_version(f))
        .map(str::to_string)
        .into_iter()
        .chain(before.iter().cloned())
        .filter(|v| v != to)
        .fold(Vec::new(), |mut acc, v| {
            if !acc.contains(&v) {
                acc.push(v);
            }
            acc
        })
}

/// The list after a rollback from `from` to `to`: when `to` is in the list, everything
/// down to it is taken off (a second rollback goes one step further); otherwise (a
/// `to-version` forward or off the list) the move is recorded like a deploy's.
pub(crate) fn after_rollback(before: &[String], from: &str, to: &str) -> Vec<String> {
    match before.iter().position(|v| v == to) {
        Some(i) => before[i + 1..].to_vec(),
        None => after_move(before, Some(from), to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_list_round_trips_after_the_mark() {
        let d = with_served("lambda-deploy: moved by run 42".into(), &list(&["3", "2"]));
        assert_eq!(d, "lambda-deploy: moved by run 42, served 3 2");
        assert_eq!(served_before(&d), list(&["3", "2"]));
        assert_eq!(
            with_served("lambda-deploy: moved by run 42".into(), &[]),
            "lambda-deploy: moved by run 42"
        );
        assert!(served_before("lambda-deploy: moved by run 42").is_empty());
        assert!(served_before("hand written").is_empty());
    }

    #[test]
    fn the_oldest_versions_are_dropped_at_the_length_limit() {
        let many: Vec<String> = (1..=200).rev().map(|n| n.to_string()).collect();
        let d = with_served("lambda-deploy: moved by run 8123456702".into(), &many);
        assert!(d.len() <= MAX_ALIAS_DESCRIPTION, "{}", d.len());
        let back = served_before(&d);
        assert_eq!(back.first().map(String::as_str), Some("200"));
        assert!(back.len() > 30 && back.len() < 200, "{}", back.len());
        assert_eq!(back, many[..back.len()].to_vec());
        let full = "x".repeat(250);
        assert_eq!(with_served(full.clone(), &many), full);
    }

    #[test]
    fn deploys_push_and_rollbacks_pop() {
        let after_three = after_move(&after_move(&[], Some("1"), "2"), Some("2"), "3");
        assert_eq!(after_three, list(&["2", "1"]));
        assert_eq!(after_move(&after_three, Some("3"), "3"), after_three);
        let back = after_rollback(&after_three, "3", "2");
        assert_eq!(back, list(&["1"]));
        assert!(after_rollback(&back, "2", "1").is_empty());
        assert_eq!(after_rollback(&list(&["1"]), "2", "5"), list(&["2", "1"]));
        assert_eq!(
            after_move(&list(&["4", "2"]), Some("3"), "4"),
            list(&["3", "2"])
        );
        assert!(after_move(&[], Some("$LATEST"), "1").is_empty());
    }
}
