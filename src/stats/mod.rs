//! Usage statistics for the monitoring centre: daily counts by portal, assurance level, method,
//! outcome, subject type, gender, age band and province, published only anonymised.
//!
//! Counting costs a sign-in nothing in the database: an event is kept in memory ([`Recorder`])
//! and the periodic upkeep (`janitor`) folds what has gathered into `stats_daily`, looking up
//! the people's gender, birth date and birthplace then, in one query per batch. A crash loses at
//! most the events since the last flush (30 seconds); a failed flush keeps them for the next.

pub mod dims;
pub mod export;
pub mod integration;
pub mod suppress;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::identity::PersonId;
use crate::store::{Store, StoreError};
use dims::Demographics;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A portal (or a device, or the account page) received a sign-in, or a sign-in failed.
    SignIn,
    ConsentGiven,
    ConsentWithdrawn,
    /// A QR credential was checked through the verification API.
    QrVerified,
    /// A person answered (or skipped) the question after a sign-in; the outcome is the rating.
    Satisfaction,
}

impl Metric {
    pub const ALL: [Metric; 5] = [Metric::SignIn, Metric::ConsentGiven, Metric::ConsentWithdrawn, Metric::QrVerified, Metric::Satisfaction];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::SignIn => "sign_in",
            Metric::ConsentGiven => "consent_given",
            Metric::ConsentWithdrawn => "consent_withdrawn",
            Metric::QrVerified => "qr_verified",
            Metric::Satisfaction => "satisfaction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Who signed in: for themselves, for an organisation they represent, or as a public official.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectType {
    Citizen,
    OrganisationRepresentative,
    Official,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Citizen => "citizen",
            SubjectType::OrganisationRepresentative => "organisation_representative",
            SubjectType::Official => "official",
        }
    }
}

/// One thing that happened, as it is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub at: i64,
    pub metric: Metric,
    /// The portal's client id ("" when there is none, as for a QR verification).
    pub portal: String,
    /// The acr URI, or "".
    pub acr: String,
    /// How the person authenticated: the `amr` values joined with `+`, `sso` for a session
    /// reused, or "".
    pub method: String,
    /// `success` or `failure` for sign-ins, `valid` or `invalid` for verifications, the rating
    /// (`1`…`5`, or `skipped`) for satisfaction, else "".
    pub outcome: &'static str,
    pub subject_type: SubjectType,
    /// Whose demographics count.
    pub who: Who,
}

/// Whose gender, age band and province an event is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Nobody proven (a failed sign-in: the claimed ID is not the person's).
    Unknown,
    /// A stored person, looked up when the counts are folded.
    Person(PersonId),
    /// What a verified credential states.
    Stated(Demographics),
}

/// The method of a sign-in as counted: its `amr` values, sorted, joined with `+` (a small,
/// fixed set of combinations).
pub fn method_of<A: AsRef<str>>(amr: &[A]) -> String {
    let mut names: Vec<&str> = amr.iter().map(AsRef::as_ref).collect();
    names.sort_unstable();
    names.dedup();
    names.join("+")
}

impl Observation {
    /// A failed sign-in at a portal; `factor` is what failed (`password`, `totp`, `passkey`,
    /// `certificate`). Nobody's demographics: the claimed ID was not proven.
    pub fn failed_sign_in(at: i64, portal: &str, factor: &str) -> Self {
        Self {
            at,
            metric: Metric::SignIn,
            portal: portal.into(),
            acr: String::new(),
            method: factor.into(),
            outcome: "failure",
            subject_type: SubjectType::Citizen,
            who: Who::Unknown,
        }
    }
}

impl Observation {
    /// A consent given or withdrawn by a person for a portal.
    pub fn consent(at: i64, metric: Metric, portal: &str, person: &PersonId) -> Self {
        Self {
            at,
            metric,
            portal: portal.into(),
            acr: String::new(),
            method: String::new(),
            outcome: "",
            subject_type: SubjectType::Citizen,
            who: Who::Person(person.clone()),
        }
    }

    /// A QR credential checked at the verification API, counted under what it states about its
    /// holder (a person credential's ID number, birth date and gender).
    pub fn verification(at: i64, valid: bool, claims: &serde_json::Value) -> Self {
        let claims = claims.get("claim169").unwrap_or(&serde_json::Value::Null);
        let text = |k: &str| claims.get(k).and_then(serde_json::Value::as_str);
        let id = text("id").and_then(|i| crate::identity::PersonalId::parse(i).ok());
        // ISO/IEC 5218, as the credential encodes it.
        let sex = match claims.get("gender").and_then(serde_json::Value::as_i64) {
            Some(1) => Some(crate::identity::Sex::Male),
            Some(2) => Some(crate::identity::Sex::Female),
            _ => None,
        };
        // Claim 169 writes the date as YYYYMMDD.
        let birth = text("dateOfBirth")
            .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
            .map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]));
        let stated = Demographics::from_parts(id.as_ref(), sex, birth.as_deref(), &dims::day_of(at));
        Self {
            at,
            metric: Metric::QrVerified,
            portal: String::new(),
            acr: String::new(),
            method: String::new(),
            outcome: if valid { "valid" } else { "invalid" },
            subject_type: SubjectType::Citizen,
            who: if id.is_some() { Who::Stated(stated) } else { Who::Unknown },
        }
    }
}

/// The answer to "how was signing in?": 1 (very hard) to 5 (very easy), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Score(u8),
    Skipped,
}

impl Rating {
    const SCORES: [&'static str; 5] = ["1", "2", "3", "4", "5"];

    /// A score as the form sends it (`1`…`5`).
    pub fn parse_score(s: &str) -> Option<Self> {
        Self::SCORES.iter().position(|v| *v == s).map(|i| Rating::Score(i as u8 + 1))
    }

    /// The counted outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Score(n) => Self::SCORES.get(usize::from(n).wrapping_sub(1)).copied().unwrap_or("skipped"),
            Rating::Skipped => "skipped",
        }
    }
}

impl Observation {
    /// A person's answer to the question after a sign-in at `portal`, counted like the sign-in
    /// it follows (acr, method) under the rating. Nothing else keeps it: the rating is never
    /// stored with the person.
    pub fn satisfaction(at: i64, portal: &str, acr: &str, method: String, rating: Rating, person: &PersonId) -> Self {
        Self {
            at,
            metric: Metric::Satisfaction,
            portal: portal.into(),
            acr: acr.into(),
            method,
            outcome: rating.as_str(),
            subject_type: SubjectType::Citizen,
            who: Who::Person(person.clone()),
        }
    }
}

/// A free-text comment left with a rating. Kept apart from the counts and from the person: the
/// day, the rating and the page's language only, written in shuffled batches so that neither
/// the time nor the order links it to a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub day: String,
    pub rating: &'static str,
    pub locale: &'static str,
    pub text: String,
}

impl Comment {
    /// The longest comment kept, in characters.
    pub const MAX_CHARS: usize = 500;

    /// A comment as it is kept: trimmed, at most [`Self::MAX_CHARS`] characters, control
    /// characters as spaces, and any run of six or more digits (an ID, a telephone number) or
    /// an e-mail address masked, since the comment must not identify its writer. `None` when
    /// nothing is left.
    pub fn new(at: i64, rating: Rating, locale: &'static str, text: &str) -> Option<Self> {
        let cleaned: String = text.trim().chars().take(Self::MAX_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
        let masked = mask_identifiers(&cleaned);
        let text = masked.trim();
        (!text.is_empty()).then(|| Self { day: dims::day_of(at), rating: rating.as_str(), locale, text: text.to_string() })
    }
}

/// Masks digit runs of six or more (digits separated by spaces, dots or dashes count as one run)
/// and words with an `@`.
fn mask_identifiers(text: &str) -> String {
    let words: Vec<String> =
        text.split(' ').map(|w| if w.contains('@') && w.len() > 2 { "…".to_string() } else { w.to_string() }).collect();
    let text = words.join(" ");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            // The run: digits, and separators between digits.
            let mut j = i;
            let mut digits = 0;
            let mut end = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || (matches!(chars[j], ' ' | '.' | '-') && digits > 0)) {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    end = j + 1;
                }
                j += 1;
            }
            if digits >= 6 {
                out.push('…');
            } else {
                out.extend(&chars[i..end]);
            }
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// One cell of `stats_daily`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub day: String,
    pub metric: String,
    pub portal: String,
    pub acr: String,
    pub method: String,
    pub outcome: String,
    pub subject_type: String,
    pub gender: String,
    pub age_band: String,
    pub province: String,
}

/// Events waiting to be folded into the daily counts.
#[derive(Debug, Default)]
pub struct Recorder {
    pending: Mutex<Vec<Observation>>,
    comments: Mutex<Vec<Comment>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// The most events kept between two flushes: a minute at twice the planned national peak.
    /// Beyond it new events are dropped (and counted), never blocking a sign-in.
    pub const MAX_PENDING: usize = 400_000;

    pub fn record(&self, o: Observation) {
        if o.metric == Metric::SignIn {
            crate::metrics::sign_in(&o.method, &o.acr, o.outcome);
        }
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.len() < Self::MAX_PENDING {
            pending.push(o);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps a comment until the next flush (a full buffer drops it, counted like an event).
    pub fn record_comment(&self, c: Comment) {
        let mut comments = self.comments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if comments.len() < Self::MAX_COMMENTS {
            comments.push(c);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The most comments kept between two flushes.
    pub const MAX_COMMENTS: usize = 10_000;

    /// Events dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Folds the pending events into `stats_daily`; returns how many. On failure they are put
    /// back for the next flush.
    pub async fn flush(&self, store: &Store) -> Result<usize, StoreError> {
        self.flush_comments(store).await?;
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if batch.is_empty() {
            return Ok(0);
        }
        match fold(store, &batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let room = Self::MAX_PENDING.saturating_sub(pending.len());
                self.dropped.fetch_add(batch.len().saturating_sub(room) as u64, Ordering::Relaxed);
                pending.extend(batch.into_iter().take(room));
                Err(e)
            }
        }
    }
}

impl Recorder {
    /// Writes the comments gathered since the last flush, in a random order.
    async fn flush_comments(&self, store: &Store) -> Result<(), StoreError> {
        let mut batch = std::mem::take(&mut *self.comments.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if batch.is_empty() {
            return Ok(());
        }
        shuffle(&mut batch);
        if let Err(e) = store.add_satisfaction_comments(&batch).await {
            let mut comments = self.comments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let room = Self::MAX_COMMENTS.saturating_sub(comments.len());
            comments.extend(batch.into_iter().take(room));
            return Err(e);
        }
        Ok(())
    }
}

/// Fisher–Yates with the operating system's randomness: the order written says nothing about
/// the order of the sign-ins.
fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let r = u64::from_le_bytes(crate::crypto::random_bytes::<8>());
        // The modulo bias over 2^64 is far below anything the order could reveal.
        let j = (r % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

async fn fold(store: &Store, batch: &[Observation]) -> Result<(), StoreError> {
    let ids: Vec<PersonId> = batch
        .iter()
        .filter_map(|o| match &o.who {
            Who::Person(id) => Some(id.clone()),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let people = store.stats_people(&ids).await?;
    let mut cells: HashMap<Cell, i64> = HashMap::new();
    for o in batch {
        let day = dims::day_of(o.at);
        let who = match &o.who {
            Who::Person(id) => people.get(id).map(|p| Demographics::of(p, &day)).unwrap_or(Demographics::UNKNOWN),
            Who::Stated(d) => d.clone(),
            Who::Unknown => Demographics::UNKNOWN,
        };
        let cell = Cell {
            metric: o.metric.as_str().into(),
            portal: o.portal.clone(),
            acr: o.acr.clone(),
            method: o.method.clone(),
            outcome: o.outcome.into(),
            subject_type: o.subject_type.as_str().into(),
            gender: who.gender.into(),
            age_band: who.age_band.into(),
            province: who.province().into(),
            day,
        };
        *cells.entry(cell).or_default() += 1;
    }
    let mut cells: Vec<(Cell, i64)> = cells.into_iter().collect();
    // A stable order: two nodes flushing at once lock the rows in the same order.
    cells.sort();
    store.add_stats(&cells).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_credential_counts_under_what_it_states() {
        let claims =
            serde_json::json!({"claim169": {"id": "001192012345", "fullName": "Lê Thị Hoa", "dateOfBirth": "19920311", "gender": 2}});
        // 2026-12-07 in Viet Nam: 34 years old.
        let o = Observation::verification(1_796_600_000, true, &claims);
        assert_eq!(o.outcome, "valid");
        assert_eq!(o.who, Who::Stated(Demographics { gender: "female", age_band: "25_34", province: "001".into() }));
        let o = Observation::verification(1_796_600_000, false, &serde_json::json!({"organisation": {"code": "0312345673"}}));
        assert_eq!((o.outcome, o.who), ("invalid", Who::Unknown));
    }

    #[test]
    fn ratings_are_five_scores_or_none() {
        assert_eq!(Rating::parse_score("1"), Some(Rating::Score(1)));
        assert_eq!(Rating::parse_score("5").map(Rating::as_str), Some("5"));
        for bad in ["0", "6", "", "4.5", " 3", "03"] {
            assert_eq!(Rating::parse_score(bad), None, "{bad:?}");
        }
        assert_eq!(Rating::Skipped.as_str(), "skipped");
    }

    #[test]
    fn comments_never_carry_an_id_number_a_phone_or_an_address() {
        let c = |t: &str| Comment::new(1_796_600_000, Rating::Score(2), "vi", t).map(|c| c.text);
        assert_eq!(c("Mã 001090001234 không nhận").as_deref(), Some("Mã … không nhận"));
        assert_eq!(c("gọi 0912 345 678 giúp").as_deref(), Some("gọi … giúp"));
        assert_eq!(c("mail an.nguyen@example.vn ok").as_deref(), Some("mail … ok"));
        assert_eq!(c("chờ 30 giây, 2 lần").as_deref(), Some("chờ 30 giây, 2 lần"));
        assert_eq!(c("  \u{7}  "), None);
        assert_eq!(c(&"á".repeat(600)).map(|t| t.chars().count()), Some(Comment::MAX_CHARS));
        let kept = Comment::new(1_796_600_000, Rating::Skipped, "en", "ok").unwrap();
        assert_eq!((kept.day.as_str(), kept.rating, kept.locale), ("2026-12-07", "skipped", "en"));
    }

    #[test]
    fn a_shuffle_keeps_every_item() {
        let mut v: Vec<u32> = (0..100).collect();
        shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        // 100! orders: the identity is (practically) never drawn.
        assert_ne!(v, sorted);
    }

    #[test]
    fn methods_are_a_small_fixed_set() {
        assert_eq!(method_of(&["otp", "pwd", "pwd"]), "otp+pwd");
        assert_eq!(method_of::<&str>(&[]), "");
    }
}
