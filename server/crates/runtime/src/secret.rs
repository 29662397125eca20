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

/// Argon2id with the crate's recommended parameters, on the hashing pool
/// (console priority: setting passwords is an admin's act).
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    hashing::global()
        .run(hashing::Priority::Console, move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|_| PasswordError)
        })
        .await
        .unwrap_or(Err(PasswordError))
}

fn verify(stored_hash: Option<String>, password: &str) -> bool {
    let known = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| dummy_hash().to_string());
    let Ok(parsed) = PasswordHash::new(&hash) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    known && matches
}

/// Checks a console admin's password against a stored hash, ahead of every
/// queued application login. With `None` (unknown account) it still spends
/// one full verification, so both answers take the same time.
pub async fn verify_password(stored_hash: Option<String>, password: String) -> bool {
    hashing::global()
        .run(hashing::Priority::Console, move || {
            verify(stored_hash, &password)
        })
        .await
        .unwrap_or(false)
}

/// The same for an application login, behind console work, in a bounded
/// queue: when [`hashing::APPLICATION_QUEUE`] logins already wait, the
/// answer is [`Busy`] at once (try again), not a longer queue.
pub async fn verify_application_password(
    stored_hash: Option<String>,
    password: String,
) -> Result<bool, Busy> {
    match hashing::global()
        .run(hashing::Priority::Application, move || {
            verify(stored_hash, &password)
        })
        .await
    {
        Ok(verified) => Ok(verified),
        Err(hashing::Refused::Busy) => Err(Busy),
        Err(hashing::Refused::Gone) => Ok(false),
    }
}

/// Too many application logins wait for hashing: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many logins at once; try again in a moment")]
pub struct Busy;

/// Password hashing is the one CPU-heavy thing the server does on request,
/// and anyone can ask for it (a login flood). It runs on its own few
/// threads, at most half the cores, at a lower OS priority than the async
/// runtime: a flood of logins queues up and slows down, runtime checks do
/// not. Console work (admin sign-in, setting a password) goes ahead of every
/// waiting application login, and application logins wait in a bounded
/// queue, so a flood can neither delay an admin nor grow without end.
pub mod hashing {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

    type Job = Box<dyn FnOnce() + Send>;

    /// Nice value of the hashing threads (0 is normal, 19 the lowest).
    const NICENESS: i32 = 19;

    /// Application logins that may wait for a hashing thread at once.
    pub const APPLICATION_QUEUE: usize = 64;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Priority {
        /// Admin sign-in and password changes: served first.
        Console,
        /// Application logins: served when no console work waits.
        Application,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Refused {
        /// The application queue is full.
        Busy,
        /// No thread took the job (they could not start).
        Gone,
    }

    #[derive(Default)]
    struct Queues {
        console: VecDeque<Job>,
        application: VecDeque<Job>,
    }

    pub struct Pool {
        queues: Mutex<Queues>,
        ready: Condvar,
        capacity: usize,
        /// Threads that started; with none, work is refused, not queued.
        threads: AtomicUsize,
    }

    /// The process's pool: half the cores, at least one thread.
    pub fn global() -> &'static Arc<Pool> {
        static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
        POOL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Pool::start((cores / 2).max(1), APPLICATION_QUEUE)
        })
    }

    impl Pool {
        /// A pool of `threads` low-priority threads; at most `capacity`
        /// application jobs wait.
        pub fn start(threads: usize, capacity: usize) -> Arc<Pool> {
            let pool = Arc::new(Pool {
                queues: Mutex::new(Queues::default()),
                ready: Condvar::new(),
                capacity,
                threads: AtomicUsize::new(0),
            });
            for index in 0..threads {
                let worker = pool.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("password-hash-{index}"))
                    .spawn(move || {
                        lower_priority();
                        loop {
                            let job = worker.next();
                            // a panicking job must not take its thread along
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                    });
                match spawned {
                    Ok(_) => {
                        pool.threads.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot start a password hashing thread")
                    }
                }
            }
            pool
        }

        fn queues(&self) -> MutexGuard<'_, Queues> {
            self.queues
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        /// The next job, console work first; waits while there is none.
        fn next(&self) -> Job {
            let mut queues = self.queues();
            loop {
                if let Some(job) = queues.console.pop_front() {
                    return job;
                }
                if let Some(job) = queues.application.pop_front() {
                    return job;
                }
                queues = self
                    .ready
                    .wait(queues)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }

        /// Application logins waiting for a thread.
        pub fn waiting(&self) -> usize {
            self.queues().application.len()
        }

        /// Runs `work` on a hashing thread.
        pub async fn run<T: Send + 'static>(
            &self,
            priority: Priority,
            work: impl FnOnce() -> T + Send + 'static,
        ) -> Result<T, Refused> {
            if self.threads.load(Ordering::SeqCst) == 0 {
                return Err(Refused::Gone);
            }
            let (done, result) = tokio::sync::oneshot::channel();
            let job: Job = Box::new(move || {
                // a caller that gave up (closed connection) costs no hashing
                if !done.is_closed() {
                    let _ = done.send(work());
                }
            });
            {
                let mut queues = self.queues();
                match priority {
                    Priority::Console => queues.console.push_back(job),
                    Priority::Application => {
                        if queues.application.len() >= self.capacity {
                            return Err(Refused::Busy);
                        }
                        queues.application.push_back(job);
                    }
                }
            }
            self.ready.notify_one();
            result.await.map_err(|_| Refused::Gone)
        }
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

    /// With the one thread busy, console work queued after application
    /// logins is served before them; past the bound, logins are refused.
    #[tokio::test]
    async fn console_work_goes_first_and_logins_wait_in_a_bounded_queue() {
        use std::sync::{Arc, Mutex};

        use hashing::{Pool, Priority, Refused};

        let pool = Pool::start(1, 3);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let (pool, order) = (pool.clone(), order.clone());
            tokio::spawn(async move {
                pool.run(Priority::Application, move || {
                    let _ = started.send(());
                    let _ = gate.recv();
                    order.lock().map(|mut o| o.push("app-1")).ok();
                })
                .await
            })
        };
        running.await.expect("the thread took the first login");
        let mut queued = Vec::new();
        for name in ["app-2", "app-3", "app-4"] {
            let (pool, order) = (pool.clone(), order.clone());
            queued.push(tokio::spawn(async move {
                pool.run(Priority::Application, move || {
                    order.lock().map(|mut o| o.push(name)).ok();
                })
                .await
            }));
        }
        // once the three wait, the bound refuses a fifth at once
        while pool.waiting() < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(
            pool.run(Priority::Application, || ()).await,
            Err(Refused::Busy)
        );
        let console = {
            let (pool, order) = (pool.clone(), order.clone());
            tokio::spawn(async move {
                pool.run(Priority::Console, move || {
                    order.lock().map(|mut o| o.push("console")).ok();
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).expect("release");
        assert_eq!(first.await.expect("task"), Ok(()));
        assert_eq!(console.await.expect("task"), Ok(()));
        for job in queued {
            assert_eq!(job.await.expect("task"), Ok(()));
        }
        let order = order.lock().map(|o| o.clone()).unwrap_or_default();
        assert_eq!(order, ["app-1", "console", "app-2", "app-3", "app-4"]);
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
