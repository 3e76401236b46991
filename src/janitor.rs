//! Background upkeep: picks up rotated keys, purges expired rows and retries back-channel
//! logout deliveries that are due.

use std::sync::Arc;
use std::time::Duration;

use crate::keys::KeyError;
use crate::oidc;
use crate::state::App;

/// Rotates the signing keys when the rotation period has passed (and records it).
pub async fn rotate_keys_if_due(app: &App, now: i64) -> Result<bool, KeyError> {
    let s = &app.settings;
    let rotated =
        crate::keys::rotate_if_due(&app.store, app.keys.vault(), now, s.key_rotation, s.key_publish_lead, s.max_token_lifetime()).await?;
    if rotated {
        let detail = serde_json::json!({"automatic": true, "lead_secs": s.key_publish_lead});
        crate::audit::record(&app.store, now, crate::audit::Event::KeysRotated, None, None, detail).await.map_err(KeyError::Store)?;
        app.keys.reload(now).await?;
    }
    Ok(rotated)
}

/// Retention (README, *Configuration*): disclosure records and sign-ins older than their
/// configured periods go, and satisfaction comments with the sign-ins. Returns (disclosures, sign-ins) purged.
pub async fn purge_personal_history(app: &App, now: i64) -> Result<(u64, u64), crate::store::StoreError> {
    let disclosures = app.store.purge_disclosures(now - app.settings.disclosure_retention).await?;
    let sign_ins = app.store.purge_sign_ins(now - app.settings.sign_in_retention).await?;
    // The comments left with a satisfaction rating are kept as long as the sign-in history.
    app.store.purge_satisfaction_comments(&crate::stats::dims::day_of(now - app.settings.sign_in_retention)).await?;
    Ok((disclosures, sign_ins))
}

/// Runs the upkeep every 30 seconds until the task is dropped.
pub fn spawn(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            let now = app.now();
            let mut ok = true;
            if let Err(e) = rotate_keys_if_due(&app, now).await {
                ok = false;
                tracing::warn!(error = %e, "automatic key rotation failed");
            }
            if let Err(e) = app.keys.reload(now).await {
                ok = false;
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
            if let Err(e) = app.store.purge_expired(now).await {
                ok = false;
                tracing::warn!(error = %e, "purging expired rows failed");
            }
            match purge_personal_history(&app, now).await {
                Ok((disclosures, sign_ins)) => {
                    crate::metrics::rows_purged("disclosures", disclosures);
                    crate::metrics::rows_purged("sign_ins", sign_ins);
                }
                Err(e) => {
                    ok = false;
                    tracing::warn!(error = %e, "purging old disclosure records and sign-ins failed");
                }
            }
            if let Err(e) = app.store.purge_enrolment(now, app.settings.enrolment.send_window_secs).await {
                ok = false;
                tracing::warn!(error = %e, "purging expired codes and enrolments failed");
            }
            app.throttle.forget_idle();
            if let Err(e) = app.store.backfill_search_names().await {
                ok = false;
                tracing::warn!(error = %e, "filling in the search names of older person rows failed");
            }
            if let Err(e) = app.stats.flush(&app.store).await {
                ok = false;
                tracing::warn!(error = %e, "folding usage statistics into the daily counts failed (kept for the next run)");
            }
            match app.store.checkpoint_audit(now).await {
                // Logged, so that a copy lives outside the database (`nixa audit verify --against`).
                Ok(Some(c)) => tracing::info!(seq = c.seq, hash = %c.hash, "audit checkpoint"),
                Ok(None) => {}
                Err(e) => {
                    ok = false;
                    tracing::warn!(error = %e, "recording an audit checkpoint failed");
                }
            }
            // Counters of unknown ID numbers and browsers, idle for a day and unlocked, go.
            if let Err(e) = app.store.purge_login_failures(now, 86_400).await {
                ok = false;
                tracing::warn!(error = %e, "purging sign-in failure counters failed");
            }
            if let Err(e) = crate::enrol::notify::run(&app).await {
                ok = false;
                tracing::warn!(error = %e, "sending notifications failed");
            }
            if let Err(e) = oidc::logout::run_deliveries(&app).await {
                ok = false;
                tracing::warn!(error = %e, "back-channel logout deliveries failed");
            }
            crate::metrics::janitor_run(ok);
        }
    })
}
