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

/// SHA-256 of a presented token, lowercase hex, kept on the stack: the
/// runtime computes one per authenticated call. Tokens are random, so no
/// salt is needed.
pub struct TokenHash([u8; 64]);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        TokenHash(hex)
    }

    pub fn as_str(&self) -> &str {
        // only ASCII hex digits were written
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// [`TokenHash`] as an owned string, for what is stored.
pub fn hash_token(token: &str) -> String {
    TokenHash::of(token).as_str().to_string()
}

/// Argon2id with the crate's recommended parameters, on the hashing pool.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    hashing::run(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| PasswordError)
    })
    .await
    .unwrap_or(Err(PasswordError))
}

/// Checks a password against a stored hash. With `None` (unknown account) it
/// still spends one full verification, so both answers take the same time.
pub async fn verify_password(stored_hash: Option<String>, password: String) -> bool {
    hashing::run(move || {
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

/// Password hashing is the one CPU-heavy thing the server does on request,
/// and anyone can ask for it (a login flood). It runs on its own few
/// threads, at most half the cores, at a lower OS priority than the async
/// runtime: a flood of logins queues up and slows down, runtime checks do not.
mod hashing {
    use std::sync::mpsc;
    use std::sync::{Mutex, OnceLock};

    type Job = Box<dyn FnOnce() + Send>;

    /// Nice value of the hashing threads (0 is normal, 19 the lowest).
    const NICENESS: i32 = 19;

    fn queue() -> &'static Mutex<mpsc::Sender<Job>> {
        static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
        QUEUE.get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = std::sync::Arc::new(Mutex::new(receiver));
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            for index in 0..(cores / 2).max(1) {
                let receiver = receiver.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("password-hash-{index}"))
                    .spawn(move || {
                        lower_priority();
                        loop {
                            // the lock is held only to take the next job
                            let job = match receiver.lock() {
                                Ok(receiver) => receiver.recv(),
                                Err(poisoned) => poisoned.into_inner().recv(),
                            };
                            match job {
                                // a panicking job must not take its thread along
                                Ok(job) => {
                                    let _ =
                                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                                }
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(error) = spawned {
                    tracing::error!(%error, "cannot start a password hashing thread");
                }
            }
            Mutex::new(sender)
        })
    }

    #[cfg(target_os = "linux")]
    fn lower_priority() {
        // on Linux a thread id names one thread for setpriority
        let thread = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(thread), NICENESS) {
            tracing::warn!(%error, "password hashing runs at normal priority");
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn lower_priority() {}

    /// Runs `work` on a hashing thread; `None` if no thread could take it.
    pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // a caller that gave up (closed connection) costs no hashing
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        let sent = match queue().lock() {
            Ok(sender) => sender.send(job),
            Err(poisoned) => poisoned.into_inner().send(job),
        };
        sent.ok()?;
        result.await.ok()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

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
}
