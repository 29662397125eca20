//! Signing what the gateway tells an HTTP upstream about the caller
//! (DESIGN section 9): the identity headers, with an HMAC-SHA256 over a
//! timestamp, the verb, the path and those headers, keyed by the service's
//! own secret, so the upstream can trust them. The upstream recomputes the
//! canonical text from the request it received and compares.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;

/// A service's signing secret: 256 bits from the OS CSPRNG, shown to the
/// admin once. Never printed or serialized with its value.
pub struct UpstreamSecret(String);

impl UpstreamSecret {
    pub fn generate() -> UpstreamSecret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        UpstreamSecret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A secret as stored.
    pub fn from_stored(value: String) -> UpstreamSecret {
        UpstreamSecret(value)
    }

    /// The value, for the admin (once) and for storage.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UpstreamSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamSecret(***)")
    }
}

/// Who calls, as the upstream is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `X-Caller-Id`: the user's objectId; `None` when anonymous (the
    /// header is then absent, and the line empty).
    pub caller_id: Option<String>,
    /// `X-Caller-Email` (likewise).
    pub email: Option<String>,
    /// `X-Caller-Roles`: every role of the call, system and key roles
    /// included, comma-separated.
    pub roles: Vec<String>,
    /// `X-Caller-App`: the application's id.
    pub app: String,
    /// `X-Request-Id`.
    pub request_id: String,
}

/// The header names, in the order the canonical text lists them.
pub const IDENTITY_HEADERS: [&str; 5] = [
    "x-caller-id",
    "x-caller-email",
    "x-caller-roles",
    "x-caller-app",
    "x-request-id",
];
pub const TIMESTAMP_HEADER: &str = "x-caller-timestamp";
pub const SIGNATURE_HEADER: &str = "x-caller-signature";

impl Identity {
    /// The identity headers' values, in [`IDENTITY_HEADERS`] order (`None`:
    /// the header is not sent).
    pub fn header_values(&self) -> [Option<String>; 5] {
        [
            self.caller_id.as_deref().map(header_safe),
            self.email.as_deref().map(header_safe),
            Some(
                self.roles
                    .iter()
                    .map(|role| header_safe(role))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(header_safe(&self.app)),
            Some(header_safe(&self.request_id)),
        ]
    }
}

/// A value as a header carries it (and the signature covers it): UTF-8,
/// with every byte that is not printable ASCII, and `%` and `,`,
/// percent-encoded, so `Éditeur` travels as `%C3%89diteur` and a role's
/// name never splits the comma-separated list.
pub fn header_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (0x21..=0x7e).contains(&byte) && byte != b'%' && byte != b',' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text that is signed: `v1`, the timestamp (unix seconds), the verb in
/// uppercase, the path with its query as sent to the upstream, then each
/// identity header's value (empty when absent), one per line.
pub fn canonical(timestamp: i64, verb: &str, path_and_query: &str, identity: &Identity) -> String {
    let values = identity.header_values();
    canonical_text(
        timestamp,
        verb,
        path_and_query,
        values.each_ref().map(Option::as_deref),
    )
}

/// [`canonical`] from the identity headers' values as received, in
/// [`IDENTITY_HEADERS`] order: what an upstream checks.
pub fn canonical_text(
    timestamp: i64,
    verb: &str,
    path_and_query: &str,
    values: [Option<&str>; 5],
) -> String {
    let mut text = format!(
        "v1\n{timestamp}\n{}\n{path_and_query}",
        verb.to_ascii_uppercase()
    );
    for value in values {
        text.push('\n');
        text.push_str(value.unwrap_or_default());
    }
    text
}

/// Whether `signature` (an `X-Caller-Signature` as received) is [`sign`]'s
/// for `text`, compared without an early exit.
pub fn verify(secret: &UpstreamSecret, text: &str, signature: &str) -> bool {
    let expected = sign(secret, text);
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// `v1=` and the lowercase hex HMAC-SHA256 of `text` keyed by `secret`.
pub fn sign(secret: &UpstreamSecret, text: &str) -> String {
    format!(
        "v1={}",
        hex_hmac(secret.reveal().as_bytes(), text.as_bytes())
    )
}

fn hex_hmac(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_only_the_signature() {
        let secret = UpstreamSecret::from_stored("k".into());
        let signature = sign(&secret, "text");
        assert!(verify(&secret, "text", &signature));
        assert!(!verify(&secret, "texts", &signature));
        assert!(!verify(
            &UpstreamSecret::from_stored("j".into()),
            "text",
            &signature
        ));
        assert!(!verify(&secret, "text", "v1=00"));
    }

    #[test]
    fn header_values_are_header_safe() {
        assert_eq!(header_safe("Éditeur"), "%C3%89diteur");
        assert_eq!(header_safe("a,b c%"), "a%2Cb%20c%25");
        assert_eq!(header_safe("alice@example.com"), "alice@example.com");
        let identity = Identity {
            caller_id: None,
            email: Some("zoë@example.com".into()),
            roles: vec!["JSUser".into(), "Sales, EU".into()],
            app: "A".into(),
            request_id: "R".into(),
        };
        let [_, email, roles, ..] = identity.header_values();
        assert_eq!(email.as_deref(), Some("zo%C3%AB@example.com"));
        assert_eq!(roles.as_deref(), Some("JSUser,Sales%2C%20EU"));
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // test case 2
        assert_eq!(
            hex_hmac(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn alice() -> Identity {
        Identity {
            caller_id: Some("U-1".into()),
            email: Some("alice@example.com".into()),
            roles: vec!["JSUser".into(), "AuthenticatedUser".into(), "Sales".into()],
            app: "APP-1".into(),
            request_id: "R-1".into(),
        }
    }

    #[test]
    fn the_canonical_text_lists_every_part_once() {
        assert_eq!(
            canonical(1_700_000_000, "get", "/orders/42?x=1", &alice()),
            "v1\n1700000000\nGET\n/orders/42?x=1\nU-1\nalice@example.com\nJSUser,AuthenticatedUser,Sales\nAPP-1\nR-1"
        );
        let anonymous = Identity {
            caller_id: None,
            email: None,
            roles: vec!["NotAuthenticatedUser".into()],
            ..alice()
        };
        assert_eq!(
            canonical(5, "POST", "/", &anonymous),
            "v1\n5\nPOST\n/\n\n\nNotAuthenticatedUser\nAPP-1\nR-1"
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let secret = UpstreamSecret::from_stored("s3cret".into());
        let text = canonical(10, "GET", "/a", &alice());
        let signature = sign(&secret, &text);
        assert!(
            signature.starts_with("v1=") && signature.len() == 67,
            "{signature}"
        );
        assert_eq!(sign(&secret, &text), signature);
        let other = UpstreamSecret::from_stored("s3creT".into());
        assert_ne!(sign(&other, &text), signature);
        for changed in [
            canonical(11, "GET", "/a", &alice()),
            canonical(10, "PUT", "/a", &alice()),
            canonical(10, "GET", "/b", &alice()),
            canonical(
                10,
                "GET",
                "/a",
                &Identity {
                    roles: vec!["Admins".into()],
                    ..alice()
                },
            ),
            canonical(
                10,
                "GET",
                "/a",
                &Identity {
                    caller_id: Some("U-2".into()),
                    ..alice()
                },
            ),
        ] {
            assert_ne!(sign(&secret, &changed), signature, "{changed}");
        }
    }

    #[test]
    fn secrets_are_random_and_never_printed() {
        let (a, b) = (UpstreamSecret::generate(), UpstreamSecret::generate());
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(a.reveal().len(), 43);
        assert_eq!(format!("{a:?}"), "UpstreamSecret(***)");
    }
}
