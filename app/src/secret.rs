//! Passwords and session tokens. Neither type here prints or serializes its
//! value: a token reaches the client once, in a cookie or a login answer.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A fresh bearer token: 256 bits from the OS CSPRNG.
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SessionToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value to hand to the client, once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What the database stores.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// SHA-256 of a presented token, hex: tokens are random, so no salt is needed.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Argon2id with the crate's recommended parameters, on the blocking pool so
/// hashing never stalls the async runtime.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| PasswordError)
    })
    .await
    .map_err(|_| PasswordError)?
}

/// Checks a password against a stored hash. With `None` (unknown account) it
/// still spends one full verification, so both answers take the same time.
pub async fn verify_password(stored_hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let hash = stored_hash.unwrap_or_else(|| dummy_hash().to_string());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// A real Argon2id hash, with the same parameters, of a random password
/// nobody knows: verifying against it costs what a real check costs.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SessionToken::generate();
        Argon2::default()
            .hash_password(secret.reveal().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

/// The rule for every password this product stores.
pub fn check_password_rules(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < 8 {
        return Err("the password must have at least 8 characters".to_string());
    }
    if length > 256 {
        return Err("the password must have at most 256 characters".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hidden_from_debug() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.reveal(), b.reveal());
        // 32 bytes in unpadded base64url
        assert_eq!(a.reveal().len(), 43);
        assert_eq!(format!("{a:?}"), "SessionToken(***)");
        assert_eq!(a.hash(), hash_token(a.reveal()));
        assert_eq!(a.hash().len(), 64);
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse".to_string())
            .await
            .unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(hash.clone()), "correct horse".to_string()).await);
        assert!(!verify_password(Some(hash), "wrong horse".to_string()).await);
        assert!(!verify_password(None, "anything".to_string()).await);
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("long enough").is_ok());
        assert!(check_password_rules(&"x".repeat(257)).is_err());
    }
}
