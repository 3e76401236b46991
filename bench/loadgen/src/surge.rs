//! `--scenario surge`: a rush of people signing in with a password, far beyond what the server
//! can serve (issue 16, admission control). Each arrival is a new browser from its own address
//! (`X-Forwarded-For`, the server trusting the loopback proxy): authorize → login page →
//! password → (consent, remembered after the first) → code at the portal.
//!
//! 1. Capacity: `--concurrency` browsers sign in back to back for `--duration` seconds; the
//!    completed sign-ins per second are the capacity C.
//! 2. For each of `--multipliers` (default 5,10): arrivals at m × C per second (open loop: they
//!    keep coming whatever the answers) for `--duration` seconds. Then the arrivals stop, and one
//!    probe browser signs in again and again until a sign-in takes no more than twice the
//!    median of the capacity phase: the seconds from the end of the surge to that sign-in are
//!    the recovery time.
//!
//! One JSON line per phase: completed sign-ins per second during the surge, p50/p99 of admitted
//! requests (answered with anything but 503 or 429), refusals by status, other 5xx answers
//! (must be 0), transport failures, recovery seconds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Browser, Endpoints, Error, Opts, Page, authorize_url, pkce};

#[derive(Default)]
struct Tally {
    completed: u64,
    completed_in_window: u64,
    /// Latency (µs) of each admitted request.
    admitted: Vec<u32>,
    /// Answers that said "come back later", by status.
    refused: BTreeMap<u16, u64>,
    /// Other 5xx answers: each one a failure of admission control.
    server_errors: BTreeMap<u16, u64>,
    /// Arrivals that ended otherwise (connection refused, timeout, unexpected page).
    failed: u64,
    first_failure: Option<String>,
}

enum Outcome {
    Completed,
    Refused,
    Failed(String),
}

fn hidden(page: &Page, name: &str) -> Result<String, Error> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).ok_or_else(|| format!("no {name} on {} ({})", page.url, page.status))? + marker.len();
    Ok(page.body[start..].split('"').next().unwrap_or_default().to_string())
}

/// One person's sign-in; every answer is recorded in `tally`.
async fn arrival(o: &Opts, e: &Endpoints, http: &reqwest::Client, tally: &Mutex<Tally>) -> Outcome {
    let addr = format!("10.{}.{}.{}", rand::random::<u8>(), rand::random::<u8>(), rand::random::<u8>() | 1);
    let mut b = Browser::new(http.clone());
    b.forwarded_for = Some(addr);
    let (_, challenge) = pkce();
    let mut next: Option<(String, Vec<(String, String)>)> = None;
    let mut url = match authorize_url(o, e, &challenge) {
        Ok(u) => u,
        Err(err) => return Outcome::Failed(err.to_string()),
    };
    for _ in 0..12 {
        let t0 = Instant::now();
        let sent = match next.take() {
            Some((action, form)) => b.post(&action, &form).await,
            None => b.get(&url).await,
        };
        let page = match sent {
            Ok(p) => p,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let micros = t0.elapsed().as_micros() as u32;
        {
            let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
            match page.status {
                503 | 429 => {
                    *t.refused.entry(page.status).or_default() += 1;
                    return Outcome::Refused;
                }
                s if s >= 500 => {
                    *t.server_errors.entry(s).or_default() += 1;
                    return Outcome::Failed(format!("{s} at {}", page.url));
                }
                _ => t.admitted.push(micros),
            }
        }
        if let Some(loc) = page.location.clone() {
            if loc.starts_with(&o.redirect_uri) {
                return if loc.contains("code=") { Outcome::Completed } else { Outcome::Failed(format!("no code: {loc}")) };
            }
            url = loc;
            continue;
        }
        let step = if page.url.contains("/login?") || page.url.ends_with("/login") {
            "login"
        } else if page.url.contains("/consent") {
            "consent"
        } else {
            return Outcome::Failed(format!("unexpected {} at {}: {:.200}", page.status, page.url, page.body));
        };
        let (r, csrf) = match (hidden(&page, "r"), hidden(&page, "csrf")) {
            (Ok(r), Ok(c)) => (r, c),
            (Err(err), _) | (_, Err(err)) => return Outcome::Failed(err.to_string()),
        };
        let mut form = vec![("r".to_string(), r), ("csrf".to_string(), csrf)];
        if step == "login" {
            form.push(("personal_id".into(), o.user.clone()));
            form.push(("password".into(), o.password.clone()));
        } else {
            form.push(("decision".into(), "approve".into()));
        }
        let origin = match url::Url::parse(&page.url) {
            Ok(u) => u.origin().ascii_serialization(),
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        next = Some((format!("{origin}/{step}"), form));
    }
    Outcome::Failed("no code after 12 steps".into())
}

fn record(tally: &Mutex<Tally>, outcome: Outcome, in_window: bool) {
    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
    match outcome {
        Outcome::Completed => {
            t.completed += 1;
            if in_window {
                t.completed_in_window += 1;
            }
        }
        Outcome::Refused => {}
        Outcome::Failed(why) => {
            t.failed += 1;
            t.first_failure.get_or_insert(why);
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    (sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)] as f64 / 10.0).round() / 100.0
}

/// Closed loop: the capacity in sign-ins per second and the median sign-in (ms).
async fn capacity(o: &Opts, e: &Endpoints, http: &reqwest::Client) -> Result<(f64, f64), Error> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let durations = Arc::new(Mutex::new(Vec::<u32>::new()));
    let started = Instant::now();
    let deadline = started + o.duration;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..o.concurrency {
        let (o, e, http, tally, durations) = (o.clone(), e.clone(), http.clone(), tally.clone(), durations.clone());
        set.spawn(async move {
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let outcome = arrival(&o, &e, &http, &tally).await;
                if matches!(outcome, Outcome::Completed) {
                    durations.lock().unwrap_or_else(|p| p.into_inner()).push(t0.elapsed().as_micros() as u32);
                }
                record(&tally, outcome, Instant::now() <= deadline);
            }
        });
    }
    while set.join_next().await.is_some() {}
    let secs = started.elapsed().as_secs_f64();
    let t = tally.lock().unwrap_or_else(|p| p.into_inner());
    if t.completed == 0 {
        return Err(format!("no sign-in completed in the capacity phase: {:?}", t.first_failure).into());
    }
    let mut d = durations.lock().unwrap_or_else(|p| p.into_inner()).clone();
    d.sort_unstable();
    println!(
        "{}",
        json!({"phase": "capacity", "concurrency": o.concurrency, "secs": (secs * 10.0).round() / 10.0,
               "sign_ins_per_sec": ((t.completed as f64 / secs) * 10.0).round() / 10.0,
               "sign_in_p50_ms": percentile(&d, 0.5), "sign_in_p99_ms": percentile(&d, 0.99),
               "refused": t.refused, "server_errors": t.server_errors, "failed": t.failed, "first_failure": t.first_failure})
    );
    Ok((t.completed as f64 / secs, percentile(&d, 0.5)))
}

/// Open loop at `rate` arrivals per second, then the time to recover.
async fn surge(o: &Opts, e: &Endpoints, http: &reqwest::Client, multiplier: f64, rate: f64, normal_ms: f64) -> Result<(), Error> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let end = started + o.duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut set = tokio::task::JoinSet::new();
    let mut arrivals = 0u64;
    while Instant::now() < end {
        tick.tick().await;
        arrivals += 1;
        let (o, e, http, tally) = (o.clone(), e.clone(), http.clone(), tally.clone());
        set.spawn(async move {
            let outcome = arrival(&o, &e, &http, &tally).await;
            record(&tally, outcome, Instant::now() <= end);
        });
    }
    let surge_secs = started.elapsed().as_secs_f64();
    // Recovery: a probe signs in until it takes no longer than twice the normal median.
    let probe_tally = Mutex::new(Tally::default());
    let mut recovered = None;
    while end.elapsed() < Duration::from_secs(120) {
        let t0 = Instant::now();
        let outcome = arrival(o, e, http, &probe_tally).await;
        if matches!(outcome, Outcome::Completed) && t0.elapsed().as_secs_f64() * 1000.0 <= 2.0 * normal_ms.max(1.0) {
            recovered = Some(t0.elapsed() + t0.duration_since(end));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while set.join_next().await.is_some() {}
    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
    t.admitted.sort_unstable();
    println!(
        "{}",
        json!({"phase": "surge", "multiplier": multiplier, "offered_per_sec": rate.round(), "arrivals": arrivals,
               "secs": (surge_secs * 10.0).round() / 10.0,
               "completed_per_sec": ((t.completed_in_window as f64 / surge_secs) * 10.0).round() / 10.0,
               "completed": t.completed,
               "admitted_requests": t.admitted.len(),
               "admitted_p50_ms": percentile(&t.admitted, 0.5), "admitted_p99_ms": percentile(&t.admitted, 0.99),
               "refused": t.refused, "server_errors": t.server_errors,
               "failed": t.failed, "first_failure": t.first_failure,
               "recovery_secs": recovered.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0)})
    );
    Ok(())
}

pub async fn run(o: &Opts, e: &Endpoints, http: &reqwest::Client) -> Result<(), Error> {
    // The first sign-in gives the consent that every later one finds remembered.
    let first = Mutex::new(Tally::default());
    if let Outcome::Failed(why) = arrival(o, e, http, &first).await {
        return Err(format!("the first sign-in failed: {why}").into());
    }
    let (capacity, normal_ms) = capacity(o, e, http).await?;
    for m in &o.multipliers {
        // Let the server settle between phases.
        tokio::time::sleep(Duration::from_secs(3)).await;
        surge(o, e, http, *m, capacity * m, normal_ms).await?;
    }
    Ok(())
}
