//! The audit log for auditors: a viewer with filters (event, person, portal, operator, time),
//! exports as JSON Lines and CSV, and the chain verification. The admin API serves the same
//! filters to machines with `audit:read`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{Role, with_operator};
use crate::audit::{self, Event};
use crate::identity::PersonalId;
use crate::state::App;
use crate::store::audit::{AuditEntry, AuditFilter};
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::render;

/// Entries on one page of the viewer.
const PAGE: i64 = 100;
/// The most entries one export holds (narrow the filter for more).
pub const EXPORT_MAX: i64 = 100_000;

pub struct EntryRow {
    pub seq: i64,
    pub at: String,
    pub event: String,
    pub person: String,
    pub client: String,
    pub detail: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
pub struct AuditPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub event: String,
    pub personal_id: String,
    pub client: String,
    pub operator: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<EntryRow>,
    pub export_query: String,
    pub older_href: Option<String>,
    /// The chain verification's outcome, when asked for.
    pub verified: Option<(bool, String)>,
    pub error: Option<String>,
}

/// A day (`YYYY-MM-DD`, UTC) as a timestamp: its start, or (`end`) its last second.
fn day_bound(s: &str, end: bool) -> Option<i64> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &f).ok()?;
    let start = d.midnight().assume_utc().unix_timestamp();
    Some(if end { start + 86_399 } else { start })
}

/// The filter from query parameters: `event`, `personal_id`, `client`, `operator`, `from` and
/// `to` (days). `Err` names the parameter that is not usable.
pub async fn filter_of(app: &App, q: &Params) -> Result<AuditFilter, &'static str> {
    let text = |k: &str| q.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let person_id = match text("personal_id") {
        None => None,
        Some(pid) => {
            let pid = PersonalId::parse(&pid).map_err(|_| "personal_id")?;
            // An unknown person has no entries: a filter nothing matches.
            Some(
                app.store
                    .person_for_login(&pid)
                    .await
                    .map_err(|_| "personal_id")?
                    .map(|(p, _)| p.id)
                    .unwrap_or_else(|| crate::identity::PersonId::from_stored(String::new())),
            )
        }
    };
    let day = |k: &'static str, end: bool| -> Result<Option<i64>, &'static str> {
        match text(k) {
            None => Ok(None),
            Some(d) => day_bound(&d, end).map(Some).ok_or(k),
        }
    };
    Ok(AuditFilter {
        event: text("event"),
        person_id,
        client_id: text("client"),
        operator: text("operator"),
        from: day("from", false)?,
        to: day("to", true)?,
    })
}

/// The export body: JSON Lines or CSV, oldest first.
pub fn export_body(entries: &[AuditEntry], csv: bool) -> (HeaderValue, String) {
    let mut out = String::new();
    if csv {
        out.push_str("seq,at,event,person_id,client_id,detail,client_addr,user_agent,hash\n");
        for e in entries.iter().rev() {
            let fields = [
                e.seq.to_string(),
                e.at.to_string(),
                e.event.clone(),
                e.person_id.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
                e.client_id.clone().unwrap_or_default(),
                e.detail.clone(),
                e.client_addr.clone().unwrap_or_default(),
                e.user_agent.clone().unwrap_or_default(),
                e.hash.clone(),
            ];
            out.push_str(&fields.iter().map(|f| crate::web::csv::field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        (HeaderValue::from_static("text/csv; charset=utf-8"), out)
    } else {
        for e in entries.iter().rev() {
            out.push_str(&crate::audit::entry_json(e).to_string());
            out.push('\n');
        }
        (HeaderValue::from_static("application/jsonl; charset=utf-8"), out)
    }
}

fn query_string(q: &Params, keys: &[&str], extra: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for k in keys {
        if let Some(v) = q.get(k).filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    s.finish()
}

const FILTER_KEYS: [&str; 6] = ["event", "personal_id", "client", "operator", "from", "to"];

/// `GET /console/audit[?event=…&personal_id=…&client=…&operator=…&from=…&to=…&before=SEQ]`,
/// `…&format=jsonl|csv` to export, `…&verify=1` to check the chain.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(raw): RawQuery) -> Response {
    let q = Params::from_query(&raw);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::Auditor)?;
        let filter = filter_of(&app, &q).await;
        let format = q.get("format");
        if let (Ok(f), Some(fmt @ ("jsonl" | "csv"))) = (&filter, format) {
            let entries = app.store.audit_search(f, None, EXPORT_MAX).await?;
            let detail = json!({"operator": op.actor().label(), "format": fmt, "entries": entries.len(), "filter": query_string(&q, &FILTER_KEYS, &[])});
            audit::record(&app.store, app.now(), Event::AuditExported, None, None, detail).await?;
            let (ctype, body) = export_body(&entries, fmt == "csv");
            let name = format!("attachment; filename=\"audit.{}\"", if fmt == "csv" { "csv" } else { "jsonl" });
            let disposition = HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment"));
            return Ok(([(header::CONTENT_TYPE, ctype), (header::CONTENT_DISPOSITION, disposition)], body).into_response());
        }
        let before = q.get("before").and_then(|b| b.parse::<i64>().ok());
        let (rows, error) = match &filter {
            Ok(f) => (app.store.audit_search(f, before, PAGE).await?, None),
            Err(field) => (Vec::new(), Some(format!("{} ({field})", op.locale.t("console.audit.error.filter")))),
        };
        let verified = if q.get("verify") == Some("1") {
            Some(match audit::verify_chain(&app.store).await? {
                Ok(n) => (true, format!("{} {n}", op.locale.t("console.audit.verified"))),
                Err(e) => (false, format!("{}: {e}", op.locale.t("console.audit.broken"))),
            })
        } else {
            None
        };
        let older_href = (rows.len() as i64 == PAGE)
            .then(|| rows.last().map(|e| format!("/console/audit?{}", query_string(&q, &FILTER_KEYS, &[("before", e.seq.to_string())]))))
            .flatten();
        let text = |k: &str| q.get(k).unwrap_or_default().to_string();
        let page = AuditPage {
            locale: op.locale,
            switch_href: Some(format!("/console/audit?{}", query_string(&q, &FILTER_KEYS, &[("lang", op.locale.other().as_str().into())]))),
            event: text("event"),
            personal_id: text("personal_id"),
            client: text("client"),
            operator: text("operator"),
            from: text("from"),
            to: text("to"),
            rows: rows
                .iter()
                .map(|e| EntryRow {
                    seq: e.seq,
                    at: crate::account::format_time(e.at),
                    event: e.event.clone(),
                    person: e.person_id.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
                    client: e.client_id.clone().unwrap_or_default(),
                    detail: e.detail.clone(),
                    source: e.client_addr.clone().unwrap_or_default(),
                })
                .collect(),
            export_query: query_string(&q, &FILTER_KEYS, &[]),
            older_href,
            verified,
            error,
        };
        let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        Ok(render(status, &page))
    })
    .await
}
