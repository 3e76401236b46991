//! `[enrolment]` in nixa.toml: lifetimes of codes and how many may be sent.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrolmentConfig {
    /// How long an operator's activation code (letter or counter) stays valid.
    pub letter_code_days: i64,
    /// How long a code sent by SMS or e-mail stays valid.
    pub code_minutes: i64,
    /// Wrong guesses a code survives; the next one ends it.
    pub code_max_tries: i64,
    /// Codes sent to one person, and requested from one client address, per window.
    pub sends_per_person: i64,
    pub sends_per_address: i64,
    pub send_window_secs: i64,
    /// Notifications sent to one person per window (a flood of "new sign-in" messages helps nobody).
    pub notifications_per_person: i64,
    /// How long a person may take between proving who they are and finishing the new password
    /// and second factor.
    pub enrolment_minutes: i64,
}

impl Default for EnrolmentConfig {
    fn default() -> Self {
        Self {
            letter_code_days: 30,
            code_minutes: 10,
            code_max_tries: 5,
            sends_per_person: 3,
            sends_per_address: 30,
            send_window_secs: 3600,
            notifications_per_person: 10,
            enrolment_minutes: 30,
        }
    }
}

impl EnrolmentConfig {
    /// Every value must be positive; letters live at most a year, sent codes at most an hour.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("letter_code_days", self.letter_code_days, 366),
            ("code_minutes", self.code_minutes, 60),
            ("code_max_tries", self.code_max_tries, 10),
            ("sends_per_person", self.sends_per_person, 1000),
            ("sends_per_address", self.sends_per_address, 100_000),
            ("send_window_secs", self.send_window_secs, 7 * 86_400),
            ("notifications_per_person", self.notifications_per_person, 1000),
            ("enrolment_minutes", self.enrolment_minutes, 240),
        ];
        for (name, value, max) in fields {
            if !(1..=max).contains(&value) {
                return Err(format!("[enrolment] {name} must be between 1 and {max}, not {value}"));
            }
        }
        Ok(())
    }
}
