//! One-time codes: what they are for, how they look, how they are checked. A code is bound to
//! one person and one purpose, stored only as a keyed hash, used once, and dies after a few wrong
//! guesses or its lifetime, whichever comes first.

use crate::crypto::{b64url, ct_eq, hmac_sha256};
use crate::identity::PersonId;
use crate::state::App;
use crate::store::StoreError;

/// What a code opens. Each purpose has its own slot per person, so asking for an SMS code cannot
/// replace (and so cancel) the letter an operator sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An operator's activation code, printed in a letter or handed over at the counter.
    Letter,
    /// Activation by a code sent to the phone or e-mail in the registry.
    Activation,
    /// "Forgot password": a code sent to the phone or e-mail in the registry.
    Recovery,
    /// A second factor at sign-in, for a person with no authenticator app or passkey.
    SignIn,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Letter => "letter",
            Purpose::Activation => "activation",
            Purpose::Recovery => "recovery",
            Purpose::SignIn => "signin",
        }
    }
}

/// Letter codes: 12 characters without look-alikes (no 0/O, 1/I/L, U), shown in three groups:
/// about 59 bits, typed from paper. Sent codes: six digits, which five guesses cannot find.
const LETTER_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
const LETTER_LEN: usize = 12;

/// A new code for `purpose`, as the person will see it.
pub fn generate(purpose: Purpose) -> String {
    match purpose {
        Purpose::Letter => typeable(LETTER_LEN, 4),
        _ => (0..6).map(|_| char::from(b'0' + uniform(10) as u8)).collect(),
    }
}

/// `len` characters from the alphabet without look-alikes, in groups of `group` joined by dashes:
/// codes people read off paper and type (activation letters, recovery codes).
pub(crate) fn typeable(len: usize, group: usize) -> String {
    let chars: Vec<char> = (0..len).map(|_| LETTER_ALPHABET[uniform(LETTER_ALPHABET.len())] as char).collect();
    chars.chunks(group).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// A uniformly random index below `n` (rejection sampling: no modulo bias).
fn uniform(n: usize) -> usize {
    let limit = 256 - 256 % n;
    loop {
        let [b] = crate::crypto::random_bytes::<1>();
        if (b as usize) < limit {
            return b as usize % n;
        }
    }
}

/// What the person typed, as it was issued: letter codes forgive case, spaces and dashes.
pub fn normalise(purpose: Purpose, typed: &str) -> String {
    let kept: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    match purpose {
        Purpose::Letter => kept.to_ascii_uppercase(),
        _ => kept,
    }
}

/// The stored form: HMAC over the person, the purpose and the normalised code.
pub fn keyed_hash(key: &[u8], person: &PersonId, purpose: Purpose, code: &str) -> String {
    let code = normalise(purpose, code);
    b64url(&hmac_sha256(key, &[b"one-time-code", person.as_bytes(), purpose.as_str().as_bytes(), code.as_bytes()]))
}

/// An issued code and until when it works.
#[derive(Debug, Clone)]
pub struct Issued {
    pub code: String,
    pub expires_at: i64,
}

/// Issues a new code for (person, purpose), replacing any earlier one. `channel` says how it
/// travels (`letter`, `counter`, `sms`, `email`) for the audit and the operator's view.
pub async fn issue(app: &App, person: &PersonId, purpose: Purpose, channel: &str, lifetime: i64) -> Result<Issued, StoreError> {
    let code = generate(purpose);
    let now = app.now();
    let expires_at = now + lifetime;
    let hash = keyed_hash(&app.secrets.codes, person, purpose, &code);
    app.store.put_one_time_code(person, purpose.as_str(), &hash, channel, expires_at, now).await?;
    Ok(Issued { code, expires_at })
}

/// The outcome of presenting a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Right, and now used up. The channel it was issued for.
    Accepted { channel: String },
    /// Wrong; `left` guesses remain (0: the code is now dead).
    Wrong { left: i64 },
    /// No live code: never issued, expired, used, or out of guesses.
    NoCode,
}

/// Checks `typed` against the live code of (person, purpose). The guess is counted before the
/// comparison, in one statement, so parallel guesses cannot exceed the limit.
pub async fn check(app: &App, person: &PersonId, purpose: Purpose, typed: &str) -> Result<Checked, StoreError> {
    let max = app.settings.enrolment.code_max_tries;
    let Some(attempt) = app.store.count_code_guess(person, purpose.as_str(), app.now(), max).await? else {
        return Ok(Checked::NoCode);
    };
    let presented = keyed_hash(&app.secrets.codes, person, purpose, typed);
    if !ct_eq(presented.as_bytes(), attempt.code_hash.as_bytes()) {
        return Ok(Checked::Wrong { left: (max - attempt.tries).max(0) });
    }
    if app.store.take_one_time_code(person, purpose.as_str(), &attempt.code_hash).await? {
        Ok(Checked::Accepted { channel: attempt.channel })
    } else {
        Ok(Checked::NoCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letter_codes_are_grouped_and_free_of_look_alikes() {
        for _ in 0..200 {
            let c = generate(Purpose::Letter);
            assert_eq!(c.len(), 14, "{c}");
            assert_eq!(c.matches('-').count(), 2);
            assert!(c.chars().filter(|c| *c != '-').all(|c| LETTER_ALPHABET.contains(&(c as u8))), "{c}");
        }
        let sent = generate(Purpose::Recovery);
        assert!(sent.len() == 6 && sent.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn hashes_bind_person_purpose_and_forgive_typing() {
        let p = PersonId::from_stored("p1".into());
        let q = PersonId::from_stored("p2".into());
        let h = keyed_hash(b"k", &p, Purpose::Letter, "ABCD-EFGH-JKMN");
        assert_eq!(h, keyed_hash(b"k", &p, Purpose::Letter, " abcd efgh-jkmn "));
        assert_ne!(h, keyed_hash(b"k", &q, Purpose::Letter, "ABCD-EFGH-JKMN"));
        assert_ne!(h, keyed_hash(b"k", &p, Purpose::Activation, "ABCD-EFGH-JKMN"));
        assert_ne!(h, keyed_hash(b"other", &p, Purpose::Letter, "ABCD-EFGH-JKMN"));
        // Digits stay digits: case folding is for letters only.
        assert_ne!(keyed_hash(b"k", &p, Purpose::SignIn, "12345a"), keyed_hash(b"k", &p, Purpose::SignIn, "12345A"));
    }

    #[test]
    fn digits_are_uniform_enough() {
        let mut counts = [0usize; 10];
        for _ in 0..2000 {
            for b in generate(Purpose::SignIn).bytes() {
                counts[(b - b'0') as usize] += 1;
            }
        }
        // 12,000 digits: each expected 1,200; a biased generator would miss this band.
        assert!(counts.iter().all(|&n| (1000..1400).contains(&n)), "{counts:?}");
    }
}
