//! What a change did (or would do) to people, in words: the notice after a
//! toggle, the bulk edit's confirmation and the import's preview share it.

use leptos::prelude::*;

use crate::pages::widgets::thousands;
use crate::permissions::{Access, MethodImpact};

/// Methods a summary names one by one; the rest are counted.
const NAMED: usize = 6;

fn users(count: usize) -> String {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    format!(
        "{} user{}",
        thousands(count),
        if count == 1 { "" } else { "s" }
    )
}

/// One sentence per method whose callers change.
pub(crate) fn method_line(impact: &MethodImpact) -> String {
    let mut parts = Vec::new();
    if impact.lost > 0 {
        parts.push(format!(
            "now denied to {} who could call it",
            users(impact.lost)
        ));
    }
    if impact.gained > 0 {
        parts.push(format!(
            "now allowed for {} who could not call it",
            users(impact.gained)
        ));
    }
    match impact.anonymous {
        Some(Access::Lost) => parts.push("callers without a user-token are now denied".into()),
        Some(Access::Gained) => parts.push("callers without a user-token are now allowed".into()),
        None => {}
    }
    for key in &impact.keys {
        parts.push(format!(
            "every call made with the key of role `{}` is now {}",
            key.role,
            match key.access {
                Access::Lost => "denied",
                Access::Gained => "allowed",
            }
        ));
    }
    format!("`{}`: {}", impact.method, parts.join("; "))
}

/// The lines of a summary: the first methods by name, then a count of
/// the others with their totals.
pub(crate) fn lines(impact: &[MethodImpact]) -> Vec<String> {
    if impact.is_empty() {
        return vec!["No enabled user's, anonymous caller's or API key's answer changed.".into()];
    }
    let mut lines: Vec<String> = impact.iter().take(NAMED).map(method_line).collect();
    if impact.len() > NAMED {
        let rest = &impact[NAMED..];
        let lost: usize = rest.iter().map(|m| m.lost).sum();
        let gained: usize = rest.iter().map(|m| m.gained).sum();
        lines.push(format!(
            "and {} more methods ({} losing and {} gaining access in all)",
            rest.len(),
            thousands(i64::try_from(lost).unwrap_or(i64::MAX)),
            thousands(i64::try_from(gained).unwrap_or(i64::MAX))
        ));
    }
    lines
}

/// A list of the lines.
#[component]
pub(crate) fn ImpactList(impact: Vec<MethodImpact>) -> impl IntoView {
    view! {
        <ul class="impact">
            {lines(&impact).into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str, gained: usize, lost: usize) -> MethodImpact {
        MethodImpact {
            method: name.into(),
            gained,
            lost,
            anonymous: None,
            keys: Vec::new(),
        }
    }

    #[test]
    fn sentences_name_people() {
        assert_eq!(
            method_line(&method("deleteOrder", 0, 1204)),
            "`deleteOrder`: now denied to 1,204 users who could call it"
        );
        assert_eq!(
            method_line(&method("m", 1, 0)),
            "`m`: now allowed for 1 user who could not call it"
        );
        let mut anonymous = method("m", 0, 0);
        anonymous.anonymous = Some(Access::Lost);
        assert_eq!(
            method_line(&anonymous),
            "`m`: callers without a user-token are now denied"
        );
        assert!(lines(&[])[0].starts_with("No enabled user's"));
        let mut keyed = method("m", 0, 0);
        keyed.keys.push(crate::permissions::KeyImpact {
            role: "JSUser".into(),
            access: Access::Lost,
        });
        assert_eq!(
            method_line(&keyed),
            "`m`: every call made with the key of role `JSUser` is now denied"
        );
        let many: Vec<_> = (0..10).map(|i| method(&format!("m{i}"), 1, 2)).collect();
        let summary = lines(&many);
        assert_eq!(summary.len(), NAMED + 1);
        assert_eq!(
            summary[NAMED],
            "and 4 more methods (8 losing and 4 gaining access in all)"
        );
    }
}
