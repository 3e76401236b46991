//! The integration report: how many portals have joined, by administrative level (from their
//! agency code) and protocol profile, and the share of sign-ins at each assurance level.
//! Portals are organisations, not people: their counts are published as they are; the sign-ins
//! by acr go through the same suppression as every other export.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Metric;
use super::export::{self, Dim, ExportError, Request};
use crate::store::{Store, StoreError};

pub async fn report(store: &Store, from: &str, to: &str, k: u64) -> Result<Result<Value, ExportError>, StoreError> {
    let mut by_level: BTreeMap<&str, u64> = ["central", "provincial", "commune", "unknown"].into_iter().map(|l| (l, 0)).collect();
    let mut by_profile: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_claims: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut portals, mut disabled) = (0u64, 0u64);
    for c in store.clients().await? {
        // The platform's own sign-in clients are not integrated portals.
        if crate::client::is_built_in(&c.id) {
            continue;
        }
        portals += 1;
        disabled += u64::from(c.disabled.is_some());
        *by_level.entry(crate::client::administrative_level(c.options.agency_code.as_deref())).or_default() += 1;
        let profile = serde_json::to_value(c.options.profile).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        *by_profile.entry(profile).or_default() += 1;
        *by_claims.entry(c.claims_profile.as_str()).or_default() += 1;
    }
    let request = Request { from: from.to_string(), to: to.to_string(), by: vec![Dim::Acr], metrics: vec![Metric::SignIn], k };
    let out = match export::export(store, request, k).await? {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    let mut shares = Vec::new();
    if let Some(t) = out.tables.first() {
        for (i, value) in t.values.first().into_iter().flatten().enumerate() {
            let count = t.published.cells[i];
            let share = match (count, t.published.total) {
                (Some(c), Some(total)) if total > 0 => Some((c as f64 * 1000.0 / total as f64).round() / 1000.0),
                _ => None,
            };
            shares.push(json!({"acr": value, "sign_ins": count, "share": share}));
        }
    }
    Ok(Ok(json!({
        "from": from, "to": to, "k": k,
        "portals": portals, "disabled": disabled,
        "by_administrative_level": by_level, "by_profile": by_profile, "by_claims_profile": by_claims,
        "sign_ins_by_acr": shares,
    })))
}
