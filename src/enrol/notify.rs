//! Telling people what happened to their account: a sign-in from a browser not seen before, a
//! password changed, a factor added or removed, the account locked, a recovery or a recovery
//! code used.
//!
//! The notifier follows the audit log (every such event is audited anyway), so no sign-in or
//! account handler waits for a message or needs to know about channels. The janitor runs it;
//! each batch of entries is claimed by moving a cursor first, so with several nodes each entry is
//! notified by one of them (a node dying mid-batch loses those few messages; none is sent twice).
//! At most `notifications_per_person` messages per person per window.

use serde_json::Value;

use crate::authn::code_delivery::Via;
use crate::channels::{Address, Message};
use crate::identity::PersonId;
use crate::state::App;
use crate::store::StoreError;
use crate::store::audit::AuditEntry;
use crate::web::i18n::Locale;

const CURSOR: &str = "notify";
const BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    NewBrowser,
    PasswordChanged,
    FactorAdded,
    FactorRemoved,
    AccountLocked,
    Recovered,
    RecoveryCodeUsed,
}

impl Notice {
    pub const ALL: [Notice; 7] = [
        Notice::NewBrowser,
        Notice::PasswordChanged,
        Notice::FactorAdded,
        Notice::FactorRemoved,
        Notice::AccountLocked,
        Notice::Recovered,
        Notice::RecoveryCodeUsed,
    ];

    fn key(self) -> &'static str {
        match self {
            Notice::NewBrowser => "notice.new_browser",
            Notice::PasswordChanged => "notice.password_changed",
            Notice::FactorAdded => "notice.factor_added",
            Notice::FactorRemoved => "notice.factor_removed",
            Notice::AccountLocked => "notice.locked",
            Notice::Recovered => "notice.recovered",
            Notice::RecoveryCodeUsed => "notice.recovery_code_used",
        }
    }
}

/// The notice an audit entry calls for, and the channel not to use (the one a recovery went
/// through: whoever holds it knows already, and it may be the attacker).
pub fn notice_for(event: &str, detail: &Value) -> Option<(Notice, Option<Via>)> {
    let notice = match event {
        "login.succeeded" if detail["new_browser"] == Value::Bool(true) => Notice::NewBrowser,
        "login.locked" => Notice::AccountLocked,
        "password.changed" => Notice::PasswordChanged,
        "totp.enrolled" | "passkey.registered" => Notice::FactorAdded,
        "totp.removed" | "passkey.removed" => Notice::FactorRemoved,
        "recovery_codes.used" => Notice::RecoveryCodeUsed,
        "enrol.recovered" => Notice::Recovered,
        _ => return None,
    };
    let avoid = match detail["proof"].as_str() {
        Some("recovery_sms") | Some("activation_sms") => Some(Via::Sms),
        Some("recovery_email") | Some("activation_email") => Some(Via::Email),
        _ => None,
    };
    Some((notice, avoid))
}

/// The message for `notice` at time `at`, in `locale`.
pub fn message(locale: Locale, notice: Notice, to: Address, at: i64) -> Message {
    let when = time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|d| d.format(time::macros::format_description!("[day]/[month]/[year] [hour]:[minute] UTC")).ok())
        .unwrap_or_default();
    let what = locale.t(notice.key());
    Message {
        to,
        subject: locale.t_with("notice.subject", &[("what", &what)]),
        text: locale.t_with("notice.text", &[("what", &what), ("when", &when)]),
    }
}

/// Sends the notices for the audit entries since the last run; returns how many were sent.
/// The first run ever starts at the end of the log: history is not notified.
pub async fn run(app: &App) -> Result<usize, StoreError> {
    let Some(from) = app.store.audit_cursor(CURSOR).await? else {
        let end = app.store.audit_last_seq().await?;
        app.store.move_audit_cursor(CURSOR, None, end).await?;
        return Ok(0);
    };
    let batch = app.store.audit_entries(from, BATCH).await?;
    let Some(last) = batch.last().map(|e| e.seq) else { return Ok(0) };
    if !app.store.move_audit_cursor(CURSOR, Some(from), last).await? {
        return Ok(0);
    }
    let mut sent = 0;
    for entry in &batch {
        sent += notify_entry(app, entry).await?;
    }
    Ok(sent)
}

async fn notify_entry(app: &App, entry: &AuditEntry) -> Result<usize, StoreError> {
    let Some(person_id) = &entry.person_id else { return Ok(0) };
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
    let Some((notice, avoid)) = notice_for(&entry.event, &detail) else { return Ok(0) };
    send(app, person_id, notice, avoid, entry.at).await
}

async fn send(app: &App, person_id: &PersonId, notice: Notice, avoid: Option<Via>, at: i64) -> Result<usize, StoreError> {
    let Some(person) = app.store.person(person_id).await? else { return Ok(0) };
    let c = &app.settings.enrolment;
    if app.store.count_send(&format!("notify:{person_id}"), c.send_window_secs, app.now()).await? > c.notifications_per_person {
        return Ok(0);
    }
    let all: Vec<Via> = Via::ALL.into_iter().filter(|v| v.address(&person).is_some()).collect();
    let others: Vec<Via> = all.iter().copied().filter(|v| Some(*v) != avoid).collect();
    let mut sent = 0;
    for via in if others.is_empty() { all } else { others } {
        let Some(to) = via.address(&person) else { continue };
        match app.channels.send(&message(app.settings.default_locale, notice, to, at)).await {
            Ok(()) => sent += 1,
            Err(e) => tracing::warn!(error = %e, via = via.as_str(), "a notification could not be sent"),
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_notice_reads_in_both_languages_without_the_product_name() {
        for locale in [Locale::Vi, Locale::En] {
            for n in Notice::ALL {
                let m = message(locale, n, Address::Email("a@example.vn".into()), 1_796_000_000);
                assert!(m.text.contains(&locale.t(n.key())) && m.text.contains("UTC") && !m.text.contains('%'), "{}", m.text);
                assert!(!m.text.to_lowercase().contains("nixa") && !m.subject.to_lowercase().contains("nixa"));
                assert!(m.text.chars().count() <= 160, "{} characters: {}", m.text.chars().count(), m.text);
            }
        }
    }

    #[test]
    fn which_events_are_told_and_where_not() {
        assert_eq!(notice_for("login.succeeded", &json!({"new_browser": true})), Some((Notice::NewBrowser, None)));
        assert_eq!(notice_for("login.succeeded", &json!({})), None);
        assert_eq!(notice_for("enrol.recovered", &json!({"proof": "recovery_sms"})), Some((Notice::Recovered, Some(Via::Sms))));
        assert_eq!(notice_for("passkey.removed", &json!({})), Some((Notice::FactorRemoved, None)));
        assert_eq!(notice_for("consent.granted", &json!({})), None);
    }
}
