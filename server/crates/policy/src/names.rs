//! The rules for the names and secrets people type: emails, role names,
//! user names, passwords, and the names of the system roles.

/// Held by every caller without a `user-token`.
pub const NOT_AUTHENTICATED: &str = "NotAuthenticatedUser";
/// Held by every caller with a live `user-token`.
pub const AUTHENTICATED: &str = "AuthenticatedUser";

/// Emails are compared without case and surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || hidden(c))
        }
        None => false,
    }
}

/// Role names are unique whatever their case: this is the key they are
/// stored and found under.
pub fn role_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The rule for role names: 1 to 64 characters, letters, digits, `-`, `_`, `.` and spaces inside.
pub fn check_role_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err("a role name has 1 to 64 characters".to_string());
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    {
        return Err(format!(
            "the role name `{name}` may hold only letters, digits, spaces, `-`, `_` and `.`"
        ));
    }
    if name == "*" {
        return Err("`*` is not a role name".to_string());
    }
    if name == "." || name == ".." {
        // a URL's dot segments: browsers resolve them away, so no path
        // of the admin API could name such a role
        return Err(format!("`{name}` is not a role name"));
    }
    Ok(name.to_string())
}

/// What a typed name never means to hold: control characters (a NUL, a
/// line break, a tab, an escape) and the bidirectional overrides that make
/// a name read other than it is.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// An API key's name: 1 to 100 characters, trimmed, nothing hidden.
pub fn check_key_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("an API key needs a name of 1 to 100 characters".to_string());
    }
    if name.chars().any(hidden) {
        return Err("an API key's name may not hold control characters".to_string());
    }
    Ok(name.to_string())
}

/// An application's name: 1 to 64 characters, trimmed, no control
/// characters.
pub fn check_app_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err("an application name has 1 to 64 characters".to_string());
    }
    if name.chars().any(hidden) {
        return Err("an application name may not hold control characters".to_string());
    }
    Ok(name.to_string())
}

/// A user's display name: at most 200 characters, trimmed, no control
/// characters (a NUL or a line break in a name is never meant, and a NUL
/// cannot be stored by every engine).
pub fn check_user_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.chars().count() > 200 {
        return Err("the name must have at most 200 characters".to_string());
    }
    if name.chars().any(hidden) {
        return Err("a name may not hold control characters (NUL, line breaks, tabs)".to_string());
    }
    Ok(name.to_string())
}

/// Longest password any account may have.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The rule for every password this product stores.
pub fn check_password_rules(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < 8 {
        return Err("the password must have at least 8 characters".to_string());
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert_eq!(
            check_role_name("  Sales Team ").as_deref(),
            Ok("Sales Team")
        );
        assert!(check_role_name("").is_err());
        assert!(check_role_name("*").is_err());
        assert!(check_role_name("a/b").is_err());
        assert!(check_role_name(&"x".repeat(65)).is_err());
        assert!(check_role_name(".").is_err());
        assert!(check_role_name(" .. ").is_err());
        assert!(check_role_name("v1.2").is_ok());
    }

    #[test]
    fn key_names() {
        assert_eq!(check_key_name(" deploy ").as_deref(), Ok("deploy"));
        assert!(check_key_name("").is_err());
        assert!(check_key_name(&"k".repeat(101)).is_err());
        for hidden in [
            "nul\0key",
            "line1\nline2",
            "red\u{1b}[31m",
            "abc\u{202e}fed",
        ] {
            assert!(check_key_name(hidden).is_err(), "{hidden:?}");
        }
        assert!(check_app_name("x\u{2066}y").is_err());
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("a@b.c"));
        assert!(!looks_like_email("ab.c"));
        assert!(!looks_like_email("@b.c"));
        assert!(!looks_like_email("a@"));
        assert!(!looks_like_email("a b@c.d"));
        assert!(!looks_like_email("a\0b@c.d"));
        assert!(!looks_like_email("moc.live\u{202e}@a.b"));
        assert!(!looks_like_email("a\u{200f}b@c.d"));
        assert_eq!(normalize_email("  Admin@Example.COM "), "admin@example.com");
    }

    #[test]
    fn user_names() {
        assert_eq!(check_user_name("  Ada ").as_deref(), Ok("Ada"));
        assert!(check_user_name("Ada\0").is_err());
        assert!(check_user_name("Ada\nLovelace").is_err());
        assert!(check_user_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("long enough").is_ok());
        assert!(check_password_rules(&"x".repeat(257)).is_err());
    }
}
